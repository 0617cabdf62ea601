"""The local stack as a subprocess for the benchmarks, with its own temporary data directory."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Stack:
    base_url: str
    moto_url: str
    admin: tuple[str, str]
    pid: int = 0


@contextmanager
def local_stack(*extra_args: str, environment: dict[str, str] | None = None) -> Iterator[Stack]:
    """``python -m local_stack --port 0`` with a fresh data directory, stopped (SIGTERM) on exit."""
    password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared"), os.environ.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
        "CLOUDSAVES_ADMIN_USERNAME": "bench-admin",
        "CLOUDSAVES_ADMIN_PASSWORD": password,
        "BCRYPT_ROUNDS": "4",
        **(environment or {}),
    }
    with tempfile.TemporaryDirectory(prefix="cloudsaves-bench-") as data_dir:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack", "--port", "0", "--data-dir", data_dir, *extra_args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        urls: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            for key, pattern in (
                ("moto", r"Moto server at (http://\S+)"),
                ("base", r"ready at (http://\S+)"),
            ):
                if found := re.search(pattern, line):
                    urls[key] = found.group(1)
            if "base" in urls:
                break
        if "base" not in urls:
            process.kill()
            raise SystemExit("the local stack did not start")
        # Keep draining its output (a full pipe would block it).
        threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
        try:
            yield Stack(urls["base"], urls["moto"], ("bench-admin", password), process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
