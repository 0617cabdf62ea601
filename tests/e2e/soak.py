"""A soak of the local stack: mixed requests from a few concurrent clients, counting what went wrong.

Used by tests/e2e/test_soak_e2e.py (short, in `make test`) and bench/soak.py (as long as you like).
Each client is a user of its own (Bearer token, a device, a ROM) sending, in a fixed random order:
uploads with device and slot, lists, content downloads, "downloaded" confirmations, summaries, client
tokens created and revoked, ROM writes, heartbeats and deletes. Every answer must be the expected
status; a request that takes longer than REQUEST_TIMEOUT_SECONDS counts as a timeout.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.assets_support import multipart

REQUEST_TIMEOUT_SECONDS = 15  # the functions' timeout: a request that takes longer has hung


@dataclass
class SoakResult:
    requests: int = 0
    timeouts: int = 0
    unexpected: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    by_operation: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def merge(self, other: SoakResult) -> None:
        self.requests += other.requests
        self.timeouts += other.timeouts
        self.unexpected += other.unexpected
        self.latencies_ms += other.latencies_ms
        self.by_operation.update(other.by_operation)


class SoakClient:
    """One user of the stack and the requests it makes."""

    def __init__(self, base_url: str, admin: tuple[str, str], seed: int) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.random = random.Random(seed)
        self.result = SoakResult()
        username, password = f"soak-{uuid.uuid4().hex[:10]}", "soak-password-1"
        self._call("create_user", "POST", "/api/users", (201,), auth=admin,
                   json={"username": username, "password": password, "role": "editor"})  # fmt: skip
        token = self._call("token", "POST", "/api/token", (200,),
                           data={"username": username, "password": password})  # fmt: skip
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.rom_id = self.random.randrange(10**9, 2 * 10**9)
        self.put_rom()
        device = self._call("create_device", "POST", "/api/devices", (201,), json={"name": "soak"})
        self.device_id = device.json()["device_id"]
        self.saves: list[int] = []
        self.upload()

    def _call(
        self, operation: str, method: str, path: str, expected: tuple[int, ...], **kwargs: object
    ) -> requests.Response:
        started = time.perf_counter()
        self.result.requests += 1
        self.result.by_operation[operation] += 1
        try:
            response = self.http.request(method, self.base + path, timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)  # type: ignore[arg-type]
        except requests.Timeout:
            self.result.timeouts += 1
            raise
        self.result.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code not in expected:
            self.result.unexpected.append(f"{operation}: {response.status_code} {response.text[:200]}")
        return response

    def put_rom(self) -> None:
        rom = {"name": "Soak", "fs_name": "soak.gba", "platform_id": 7, "platform_slug": "gba",
               "platform_fs_slug": "gba"}  # fmt: skip
        self._call("put_rom", "PUT", f"/api/roms/{self.rom_id}", (200,), json=rom)

    def upload(self) -> None:
        body, content_type = multipart(
            {"saveFile": ("soak.srm", os.urandom(self.random.choice((512, 4096, 32768))))}
        )
        params = {"rom_id": self.rom_id, "device_id": self.device_id, "slot": "soak"}
        answer = self._call("upload_save", "POST", "/api/saves", (200, 201), params=params, data=body,
                            headers={"Content-Type": content_type})  # fmt: skip
        if answer.ok:
            self.saves.append(answer.json()["id"])

    def list(self) -> None:
        self._call("list_saves", "GET", "/api/saves", (200,), params={"rom_id": self.rom_id, "limit": 50})

    def content(self) -> None:
        self._call("download_save", "GET", f"/api/saves/{self.random.choice(self.saves)}/content", (200,))

    def downloaded(self) -> None:
        # The latest save of the slot, so the device stays in sync and its next upload is accepted.
        self._call("confirm_save_download", "POST", f"/api/saves/{self.saves[-1]}/downloaded", (200,),
                   json={"device_id": self.device_id})  # fmt: skip

    def summary(self) -> None:
        self._call("get_saves_summary", "GET", "/api/saves/summary", (200,), params={"rom_id": self.rom_id})

    def client_token(self) -> None:
        token = {"name": f"t-{uuid.uuid4().hex[:6]}", "scopes": ["assets.read"]}
        created = self._call("create_client_token", "POST", "/api/client-tokens", (200, 201), json=token)
        if created.ok:
            self._call(
                "delete_client_token", "DELETE", f"/api/client-tokens/{created.json()['id']}", (200, 204)
            )

    def heartbeat(self) -> None:
        self._call("heartbeat", "GET", "/api/heartbeat", (200,))

    def delete(self) -> None:
        if len(self.saves) > 2:
            victim = self.saves.pop(0)
            self._call("delete_saves", "POST", "/api/saves/delete", (200,), json={"saves": [victim]})

    def step(self) -> None:
        operations = [
            (self.upload, 4), (self.list, 3), (self.content, 3), (self.downloaded, 1), (self.summary, 1),
            (self.client_token, 1), (self.put_rom, 1), (self.heartbeat, 1), (self.delete, 1),
        ]  # fmt: skip
        actions, weights = zip(*operations, strict=True)
        self.random.choices(actions, weights)[0]()


def soak(
    base_url: str, admin: tuple[str, str], total_requests: int, clients: int, seed: int = 7
) -> SoakResult:
    """Send about ``total_requests`` requests from ``clients`` concurrent clients; returns what happened."""
    results: list[SoakResult] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def run(index: int) -> None:
        client: SoakClient | None = None
        try:
            client = SoakClient(base_url, admin, seed + index)
            while client.result.requests < total_requests // clients:
                client.step()
        except requests.Timeout:
            pass  # counted; this client stops
        finally:
            if client is not None:
                with lock:
                    results.append(client.result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = SoakResult(seconds=time.perf_counter() - started)
    for result in results:
        total.merge(result)
    return total


def resident_mb(pid: int) -> float:
    """The resident memory of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")
