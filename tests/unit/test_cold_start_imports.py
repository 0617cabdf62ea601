"""Cold start is import time: no function may pull in the X-Ray SDK (Powertools' Tracer does, ~250 ms),
and the layer's lazy package inits must offer what the eager ones do."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


# The packages shared/Makefile has the layer build rewrite (shared/lazy_package_inits.py).
_LAZY_PACKAGES = re.search(r"^LAZY_PACKAGES := (.+)$", (ROOT / "shared/Makefile").read_text(), re.M)[
    1
].split()
_NAMES_PROBE = """
import importlib, json, sys
import aws_lambda_powertools.event_handler.api_gateway  # what cloudsaves.http needs
loaded = sorted(m for m in ("asyncio", "aws_lambda_powertools.event_handler.appsync",
                            "aws_lambda_powertools.utilities.data_classes.kafka_event") if m in sys.modules)
import aws_lambda_powertools.utilities.data_classes.event_source  # the submodule first, then its function
from aws_lambda_powertools.event_handler import content_types  # a submodule the init never named
names = {}
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        names[package + "." + name] = f"{type(value).__name__} {getattr(value, '__module__', '')}." + (
            getattr(value, "__qualname__", None) or repr(value))
print(json.dumps({"loaded": loaded, "names": names, "content_types": content_types.__name__}))
"""


def _probe_names(path: list[Path]) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path)), "POWERTOOLS_SERVICE_NAME": "t"}
    result = subprocess.run(
        [sys.executable, "-c", _NAMES_PROBE, *_LAZY_PACKAGES],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_lazy_package_inits_offer_the_same_names_and_skip_what_is_not_asked_for(tmp_path: Path):
    import aws_lambda_powertools
    from lazy_package_inits import main

    shutil.copytree(Path(aws_lambda_powertools.__file__).parent, tmp_path / "aws_lambda_powertools")
    assert main([str(tmp_path), *_LAZY_PACKAGES]) == 0

    eager, lazy = _probe_names([]), _probe_names([tmp_path])

    assert _LAZY_PACKAGES == [
        "aws_lambda_powertools.event_handler",
        "aws_lambda_powertools.utilities.data_classes",
    ]
    assert len(eager["names"]) > 60
    assert (
        lazy["names"] == eager["names"]
    )  # every name, the same class or function (event_source: the function)
    assert lazy["content_types"] == eager["content_types"] == f"{_LAZY_PACKAGES[0]}.content_types"
    assert eager["loaded"] == [  # what the rewrite is for
        "asyncio",
        "aws_lambda_powertools.event_handler.appsync",
        "aws_lambda_powertools.utilities.data_classes.kafka_event",
    ]
    assert lazy["loaded"] == []


def test_lazy_package_inits_refuse_an_init_that_does_more_than_import(tmp_path: Path):
    from lazy_package_inits import rewrite

    init = '"""Doc."""\nfrom .a import b\n__all__ = ["b"]\n'
    assert "_SOURCES = {'b': ('.a', 'b')}" in rewrite(init, tmp_path / "__init__.py")
    with pytest.raises(ValueError, match=r"__init__.py:4 is not an import: setup\(\)"):
        rewrite(init + "setup()\n", tmp_path / "__init__.py")
