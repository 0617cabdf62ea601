"""The local stack as a real subprocess (`python -m local_stack --port 0`), shared by the e2e session."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-pass-1234"
JWT_SECRET = "e2e-jwt-secret-0123456789abcdef0123456789abcdef"
_READY = re.compile(r"Cloud Saves local stack ready at (http://\S+)")
_MOTO = re.compile(r"Moto server at (http://\S+)")
_CLOUD_SYNC = re.compile(r"Function URL of CloudSyncFunction at (http://\S+)")


@dataclass(frozen=True)
class RunningStack:
    base_url: str
    moto_url: str
    admin_username: str
    admin_password: str
    cloud_sync_url: str = ""  # RetroArch's WebDAV URL: the door's function URL + api/cloud-sync/


class _Output:
    """Drains the stack's stdout for its whole life (a full pipe would block it) and keeps the tail."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.pid = process.pid
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self.urls: dict[str, str] = {}
        self.ready = threading.Event()
        threading.Thread(target=self._drain, args=(process,), daemon=True).start()

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip())
            for key, pattern in (("moto", _MOTO), ("cloud_sync", _CLOUD_SYNC), ("base", _READY)):
                found = pattern.search(line)
                if found:
                    self.urls[key] = found.group(1)
            if "base" in self.urls:
                self.ready.set()
        self.ready.set()  # the process ended: stop waiting either way

    def tail(self) -> str:
        return "\n".join(self.lines)


def _environment() -> dict[str, str]:
    pythonpath = os.pathsep.join([str(ROOT), str(ROOT / "shared"), os.environ.get("PYTHONPATH", "")])
    return {
        **os.environ,
        "PYTHONPATH": pythonpath.rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
        "CLOUDSAVES_ADMIN_USERNAME": ADMIN_USERNAME,
        "CLOUDSAVES_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CLOUDSAVES_JWT_SECRET": JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
    }


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack, or a deployed one when AWS_SAM_STACK_NAME names it (its admin from the
    CLOUDSAVES_E2E_ADMIN_USERNAME / CLOUDSAVES_E2E_ADMIN_PASSWORD environment variables)."""
    if os.environ.get("AWS_SAM_STACK_NAME"):
        yield _deployed_stack(os.environ["AWS_SAM_STACK_NAME"])
        return
    # Its own empty data directory: runs stay independent of each other and of `make run`'s data.
    with local_stack_process(tmp_path_factory.mktemp("data")) as (stack, _):
        yield stack


@contextlib.contextmanager
def local_stack_process(
    data_dir: Path, *args: str, unset: tuple[str, ...] = ()
) -> Iterator[tuple[RunningStack, _Output]]:
    """``python -m local_stack`` on a free port with ``data_dir`` (and without the environment variables
    ``unset``), stopped with SIGTERM (as Ctrl-C would) on exit; yields the stack and its output."""
    ports = ["--port", "0", "--function-url-port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack", *ports, "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env={name: value for name, value in _environment().items() if name not in unset},
        stdout=subprocess.PIPE,
        stderr=None,  # tracebacks from the functions go straight to pytest's output
        text=True,
    )
    output = _Output(process)
    try:
        if not output.ready.wait(STARTUP_TIMEOUT_SECONDS) or "base" not in output.urls:
            pytest.fail(f"local stack not ready after {STARTUP_TIMEOUT_SECONDS}s; output:\n{output.tail()}")
        door = output.urls.get("cloud_sync", "")
        stack = RunningStack(
            output.urls["base"],
            output.urls.get("moto", ""),
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            f"{door}api/cloud-sync/" if door else "",
        )
        yield stack, output
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _deployed_stack(stack_name: str) -> RunningStack:
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    admin = os.environ.get("CLOUDSAVES_E2E_ADMIN_USERNAME"), os.environ.get("CLOUDSAVES_E2E_ADMIN_PASSWORD")
    if not all(admin):
        pytest.fail(
            "set CLOUDSAVES_E2E_ADMIN_USERNAME and CLOUDSAVES_E2E_ADMIN_PASSWORD for the deployed stack"
        )
    # no moto behind it
    return RunningStack(outputs["ApiUrl"], "", str(admin[0]), str(admin[1]), outputs.get("CloudSyncUrl", ""))


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def new_user(
    stack: RunningStack, http: requests.Session, prefix: str, role: str = "viewer"
) -> tuple[str, str]:
    """A fresh user (created by the admin) with a unique name, so tests sharing the stack never collide."""
    username, password = f"{prefix}-{uuid.uuid4().hex[:12]}", "correct-horse-battery"
    response = http.post(
        f"{stack.base_url}/api/users",
        json={"username": username, "password": password, "role": role},
        auth=(stack.admin_username, stack.admin_password),
    )
    assert response.status_code == 201, response.text
    return username, password
