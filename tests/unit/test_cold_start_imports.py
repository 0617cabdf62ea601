"""Cold start is import time: no function may pull in the X-Ray SDK (Powertools' Tracer does, ~250 ms)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

_PROBE = """
import importlib.util, json, pathlib, sys
for app in sorted(pathlib.Path("functions").glob("*/app.py")):
    spec = importlib.util.spec_from_file_location("fn_" + app.parent.name, app)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(m for m in ("aws_xray_sdk", "boto3") if m in sys.modules)))
"""


def test_no_function_imports_the_xray_sdk_or_boto3_at_load():
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}",
        "TABLE_NAME": "t",
        "POWERTOOLS_SERVICE_NAME": "cloud-saves",
        "POWERTOOLS_METRICS_NAMESPACE": "CloudSaves",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    # boto3 is imported on first use, so a function that answers without AWS (heartbeat) never pays for it.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
