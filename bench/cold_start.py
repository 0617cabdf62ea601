"""Cold-start import cost of every function: each module loaded in a fresh interpreter, as Lambda does.

    make bench-cold-start      (or: PYTHONPATH=.:shared python bench/cold_start.py)

Prints per function the wall time of loading its app.py (imports + module-level work) and whether heavy
modules we avoid on purpose (the X-Ray SDK, boto3) were pulled in at import time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("COLD_START_RUNS", "3"))

_PROBE = """
import importlib.util, json, sys, time
AVOIDED = ("aws_xray_sdk", "boto3")
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("fn", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = (time.perf_counter() - start) * 1000
print(json.dumps({"ms": elapsed, "loaded": [m for m in AVOIDED if m in sys.modules]}))
"""


def measure(app_file: Path) -> tuple[float, list[str]]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}",
        "TABLE_NAME": "bench",
        "BUCKET_NAME": "bench",
        "POWERTOOLS_SERVICE_NAME": "cloud-saves",
        "POWERTOOLS_METRICS_NAMESPACE": "CloudSaves",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    samples, loaded = [], []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, str(app_file)], env=env, check=True, capture_output=True, text=True
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        samples.append(result["ms"])
        loaded = result["loaded"]
    return statistics.median(samples), loaded


def main() -> None:
    rows = [(app.parent.name, *measure(app)) for app in sorted(ROOT.glob("functions/*/app.py"))]
    print(f"{'function':28} {'import ms (median of ' + str(RUNS) + ')':>26}  heavy modules at import")
    for name, ms, loaded in rows:
        print(f"{name:28} {ms:26.0f}  {', '.join(loaded) or '-'}")
    times = [ms for _, ms, _ in rows]
    print(f"\n{len(rows)} functions: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")


if __name__ == "__main__":
    main()
