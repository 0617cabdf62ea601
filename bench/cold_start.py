"""Cold-start import cost of every function, with the code exactly as `sam build` ships it.

    make bench      (or: PYTHONPATH=.:shared python bench/cold_start.py [--runs 5])

Builds the layer and each function with the same makefiles `sam build` runs (shared/Makefile and
functions/Makefile: pip's CPython 3.13 wheels, bytecode compiled by CPython 3.13), for this machine's
architecture instead of arm64 so that they can be imported here. Then, per function, a fresh CPython 3.13
interpreter with the function, the layer and then boto3 (the runtime's copy, with its bytecode, as Lambda
has it) on its path, and nothing writable (as /var/task and /opt), loads `app.py` as Lambda's bootstrap does.
Prints the wall time of that load (imports + module-level work), the median of --runs, and whether
heavy modules avoided on purpose (the X-Ray SDK, boto3) were pulled in.
Goal: median <= 250 ms, none above 300 ms.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MEDIAN_MS, GOAL_MAX_MS = 250, 300

_PROBE = """
import importlib, json, sys, time
AVOIDED = ("aws_xray_sdk", "boto3")
start, cpu = time.perf_counter(), time.process_time()
importlib.import_module("app")
elapsed, cpu = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
print(json.dumps({"ms": elapsed, "cpu_ms": cpu, "loaded": [m for m in AVOIDED if m in sys.modules]}))
"""


def python313() -> str:
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    for candidate in [*found, "python3.13"]:
        try:
            subprocess.run([candidate, "-c", "pass"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            continue
        return candidate
    raise SystemExit("cold_start: no CPython 3.13 (Lambda's runtime) on this machine")


def build(python: str, work: Path) -> tuple[Path, Path, dict[str, Path]]:
    """The layer, the runtime's boto3 and every function, built for this machine's architecture;
    (layer, runtime, function name -> dir)."""
    machine = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}[platform.machine()]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    layer = work / "layer"
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "shared"), "build-SharedLayer", f"ARTIFACTS_DIR={layer}",
         f"LAYER_PLATFORM={machine}"],
        check=True, env=env,
    )  # fmt: skip
    runtime = work / "runtime"
    boto3 = next(
        line for line in (ROOT / "requirements/dev.txt").read_text().split() if line.startswith("boto3==")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", boto3, "--target", str(runtime),
         "--platform", machine, "--implementation", "cp", "--python-version", "3.13", "--only-binary=:all:"],
        check=True,
    )  # fmt: skip
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(runtime)], check=True)
    functions = {}
    for app in sorted(ROOT.glob("functions/*/app.py")):
        target = work / "functions" / app.parent.name
        target.mkdir(parents=True)
        subprocess.run(
            ["make", "-s", "-C", str(app.parent), "-f", "../Makefile", "build-BenchFunction",
             f"ARTIFACTS_DIR={target}"],
            check=True, env=env,
        )  # fmt: skip
        functions[app.parent.name] = target
    return layer / "python", runtime, functions


def measure(python: str, path: list[Path], function_dir: Path, runs: int) -> tuple[float, float, list[str]]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join(str(p) for p in [function_dir, *path]),  # /var/task, /opt/python, ...
        "PYTHONDONTWRITEBYTECODE": "1",  # read-only, as on Lambda
        "TABLE_NAME": "bench",
        "BUCKET_NAME": "bench",
        "POWERTOOLS_SERVICE_NAME": "cloud-saves",
        "POWERTOOLS_METRICS_NAMESPACE": "CloudSaves",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function_dir.name,
    }
    samples, cpu, loaded = [], [], []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-c", _PROBE], env=env, cwd=function_dir, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{function_dir.name} does not load:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        samples.append(result["ms"])
        cpu.append(result["cpu_ms"])
        loaded = result["loaded"]
    return statistics.median(samples), statistics.median(cpu), loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=int(os.environ.get("COLD_START_RUNS", "5")))
    args = parser.parse_args(argv)
    python = python313()
    with tempfile.TemporaryDirectory(prefix="cloudsaves-cold-start-") as work:
        layer, runtime, functions = build(python, Path(work))
        rows = [
            (name, *measure(python, [layer, runtime], path, args.runs)) for name, path in functions.items()
        ]
    print(f"Cold start: {python}, layer and functions as `make build` ships them (bytecode included)")
    print(
        f"median of {args.runs} loads; CPU ms = the process's own CPU time (wall time on a machine under load"
    )
    print("also counts the time spent waiting for a core); load average now:", os.getloadavg()[0])
    print(f"{'function':28} {'wall ms':>8} {'CPU ms':>8}  heavy modules at import")
    for name, ms, cpu_ms, loaded in rows:
        print(f"{name:28} {ms:8.0f} {cpu_ms:8.0f}  {', '.join(loaded) or '-'}")
    verdicts = []
    for label, column in (("wall", 1), ("CPU", 2)):
        times = [row[column] for row in rows]
        median, worst = statistics.median(times), max(times)
        verdict = "ok" if median <= GOAL_MEDIAN_MS and worst <= GOAL_MAX_MS else "ABOVE GOAL"
        verdicts.append(verdict)
        print(
            f"{len(rows)} functions, {label}: median {median:.0f} ms, max {worst:.0f} ms "
            f"(goal: median <= {GOAL_MEDIAN_MS}, max <= {GOAL_MAX_MS}): {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
