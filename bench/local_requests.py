"""Where a local request's time goes: the same requests over HTTP through the local stack and in-process.

    make bench                                  (or: PYTHONPATH=.:shared python bench/local_requests.py)
    python bench/local_requests.py --runs 100

Starts the local stack in a subprocess (`python -m local_stack`, temporary data directory) and, for
comparison, a second one inside this process whose gateway is called directly (no HTTP server, no worker
process: the authorizer and the function run in this process, as a plain handler call). Both answer the
same sequence of requests, with a Bearer access token:

    upload    POST /api/saves?rom_id&device_id&slot, a 4 KiB multipart save
    list      GET  /api/saves?rom_id&limit=100 (100 saves listed)
    content   GET  /api/saves/{id}/content (4 KiB inline)

The in-process columns split a request into its authorizer handler, its function handler and the AWS
calls those made to moto; "stack overhead" is HTTP minus in-process (HTTP server, gateway, event JSON,
hand-off to the worker processes). A last row sends the upload with Basic credentials: Basic pays a
bcrypt per request (BCRYPT_ROUNDS, default 12, as RomM), which tokens avoid.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from stack_process import ROOT, local_stack

sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from local_stack.events import HttpRequest  # noqa: E402
from local_stack.lambda_runtime import Invocation, Invoker, InvokeResult  # noqa: E402
from local_stack.stack import LocalStack  # noqa: E402

ROM_ID = 900_002
SAVE_BYTES = 4096
LIST_SIZE = 100
GOALS_MS = {"upload": 60.0, "list": 40.0, "content": 20.0}  # median over HTTP with a Bearer token


@dataclass
class Timings:
    """Per operation: total, authorizer, function and AWS-call milliseconds of each request."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, operation: str, part: str, ms: float) -> None:
        self.samples.setdefault(operation, {}).setdefault(part, []).append(ms)

    def median(self, operation: str, part: str) -> float:
        values = self.samples.get(operation, {}).get(part, [])
        return statistics.median(values) if values else float("nan")


_aws = threading.local()


def _count_aws_time() -> None:
    """Add the time of every botocore HTTP call made in this process to a per-thread counter."""
    from botocore.endpoint import Endpoint

    original = Endpoint._send

    def timed(self: Any, request: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, request)
        finally:
            _aws.ms = getattr(_aws, "ms", 0.0) + (time.perf_counter() - started) * 1000

    Endpoint._send = timed  # type: ignore[method-assign]


class TimingInvoker:
    """Times each handler call (authorizer or function) of the in-process gateway."""

    def __init__(self, inner: Invoker, authorizer: str) -> None:
        self._inner = inner
        self._authorizer = authorizer
        self.last: dict[str, float] = {}

    def invoke(self, invocation: Invocation, wait_seconds: float) -> InvokeResult:
        _aws.ms = 0.0
        started = time.perf_counter()
        result = self._inner.invoke(invocation, wait_seconds)
        part = "authorizer" if invocation.function.name == self._authorizer else "function"
        self.last[part] = (time.perf_counter() - started) * 1000
        self.last[f"{part} aws"] = _aws.ms
        return result

    def close(self) -> None:
        self._inner.close()


Send = Callable[[str, str, dict[str, str], bytes], tuple[int, bytes]]


def http_sender(base_url: str) -> Send:
    session = requests.Session()

    def send(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        response = session.request(method, base_url + target, headers=headers, data=body, timeout=30)
        return response.status_code, response.content

    return send


def gateway_sender(stack: LocalStack) -> Send:
    gateway = stack.gateway()

    def send(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        headers = {"Host": "127.0.0.1", "Content-Length": str(len(body)), **headers}
        response = gateway.handle(HttpRequest(method, target, list(headers.items()), body))
        return response.status, response.body

    return send


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": requests.auth._basic_auth_str(user, password)}


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="saveFile"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def expect(status: int, body: bytes, wanted: int, what: str) -> bytes:
    if status != wanted:
        raise SystemExit(f"{what}: HTTP {status}: {body[:300]!r}")
    return body


class Scenario:
    """The benchmark's requests against one stack (through ``send``)."""

    def __init__(self, send: Send, admin: tuple[str, str]) -> None:
        import json

        self.json = json
        self.send = send
        self.admin = basic(*admin)
        username, self.password = f"bench-{uuid.uuid4().hex[:10]}", "bench-password-1"
        self.username = username
        user = json.dumps({"username": username, "password": self.password, "role": "viewer"}).encode()
        expect(
            *send("POST", "/api/users", {**self.admin, "Content-Type": "application/json"}, user), 201, "user"
        )
        rom = {"name": "Bench", "fs_name": "bench.gba", "platform_id": 7, "platform_slug": "gba",
               "platform_fs_slug": "gba"}  # fmt: skip
        headers = {**self.admin, "Content-Type": "application/json"}
        expect(*send("PUT", f"/api/roms/{ROM_ID}", headers, json.dumps(rom).encode()), 200, "rom")
        form = f"grant_type=password&username={username}&password={self.password}".encode()
        token_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        token = json.loads(expect(*send("POST", "/api/token", token_headers, form), 200, "token"))
        self.bearer = {"Authorization": f"Bearer {token['access_token']}"}
        device = json.dumps({"name": "bench-deck", "allow_duplicate": True}).encode()
        created = expect(*send("POST", "/api/devices", {**self.bearer, "Content-Type": "application/json"},
                               device), 201, "device")  # fmt: skip
        self.device_id = json.loads(created)["device_id"]
        self.save_id = 0

    def upload(self, auth: dict[str, str] | None = None) -> None:
        body, content_type = multipart("bench.srm", os.urandom(SAVE_BYTES))
        target = f"/api/saves?rom_id={ROM_ID}&device_id={self.device_id}&slot=bench"
        headers = {**(auth or self.bearer), "Content-Type": content_type}
        status, answer = self.send("POST", target, headers, body)
        self.save_id = self.json.loads(expect(status, answer, 201 if status == 201 else 200, "upload"))["id"]

    def list(self) -> None:
        status, body = self.send("GET", f"/api/saves?rom_id={ROM_ID}&limit={LIST_SIZE}", self.bearer, b"")
        listed = self.json.loads(expect(status, body, 200, "list"))
        if len(listed) != LIST_SIZE:
            raise SystemExit(f"list: {len(listed)} saves, expected {LIST_SIZE}")

    def content(self) -> None:
        status, body = self.send("GET", f"/api/saves/{self.save_id}/content", self.bearer, b"")
        if len(expect(status, body, 200, "content")) != SAVE_BYTES:
            raise SystemExit("content: wrong size")


def fill(scenario: Scenario) -> None:
    """Upload until a list has LIST_SIZE saves to show."""
    while True:
        scenario.upload()
        _, body = scenario.send("GET", f"/api/saves?rom_id={ROM_ID}&limit={LIST_SIZE}", scenario.bearer, b"")
        if len(scenario.json.loads(body)) >= LIST_SIZE:
            return


def run(scenario: Scenario, runs: int, timings: Timings, invoker: TimingInvoker | None) -> None:
    operations = {"upload": scenario.upload, "list": scenario.list, "content": scenario.content}
    fill(scenario)
    for _ in range(runs):
        for name, operation in operations.items():
            started = time.perf_counter()
            operation()
            timings.add(name, "total", (time.perf_counter() - started) * 1000)
            if invoker is not None:
                for part, ms in invoker.last.items():
                    timings.add(name, part, ms)
    for _ in range(max(3, runs // 10)):
        started = time.perf_counter()
        scenario.upload(basic(scenario.username, scenario.password))
        timings.add("upload (Basic)", "total", (time.perf_counter() - started) * 1000)


def report(http: Timings, local: Timings, runs: int, rounds: str) -> bool:
    print(f"Local requests: median ms of {runs} runs each (BCRYPT_ROUNDS={rounds}); goals over HTTP: "
          + ", ".join(f"{name} <= {goal:g}" for name, goal in GOALS_MS.items()))  # fmt: skip
    header = ("operation", "HTTP", "in-process", "authorizer", "function", "AWS calls", "stack overhead")
    print("{:<16} {:>7} {:>11} {:>11} {:>9} {:>10} {:>15}".format(*header))
    met = True
    for name in [*GOALS_MS, "upload (Basic)"]:
        total, in_process = http.median(name, "total"), local.median(name, "total")
        aws = local.median(name, "authorizer aws") + local.median(name, "function aws")
        goal = GOALS_MS.get(name)
        verdict = "" if goal is None else ("  ok" if total <= goal else f"  ABOVE GOAL ({goal:g})")
        met = met and (goal is None or total <= goal)
        print(
            f"{name:<16} {total:>7.1f} {in_process:>11.1f} {local.median(name, 'authorizer'):>11.1f} "
            f"{local.median(name, 'function'):>9.1f} {aws:>10.1f} {total - in_process:>15.1f}{verdict}"
        )
    print(
        "Basic credentials: the authorizer checks the password with bcrypt on every request (as RomM does)."
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=60, help="requests per operation (default: 60)")
    args = parser.parse_args(argv)
    rounds = os.environ.get("BCRYPT_ROUNDS", "12")
    environment = {"BCRYPT_ROUNDS": rounds}

    http, local = Timings(), Timings()
    with local_stack(environment=environment) as stack:
        run(Scenario(http_sender(stack.base_url), stack.admin), args.runs, http, None)

    os.environ.update(environment)
    _count_aws_time()
    with LocalStack(admin_username="bench-admin", admin_password="bench-admin-pw", in_process=True) as inproc:
        gateway = inproc.gateway()
        invoker = TimingInvoker(gateway._invoker, authorizer=_authorizer_name(inproc))
        gateway._invoker = invoker
        run(Scenario(gateway_sender(inproc), ("bench-admin", "bench-admin-pw")), args.runs, local, invoker)
    return 0 if report(http, local, args.runs, rounds) else 1


def _authorizer_name(stack: LocalStack) -> str:
    from local_stack.template import load_template

    template = load_template(Path(stack.template_path))
    return next(iter(template.authorizers.values())).function


if __name__ == "__main__":
    sys.exit(main())
