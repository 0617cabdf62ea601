"""Device pairing over HTTP against the local stack: a handheld pairs, then syncs with its bound token.

Each test's device speaks from an address of its own (127.x.y.z: all of 127/8 is loopback here), so
the per-address rate limits of one test never reach another.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.assets_support import multipart
from tests.e2e.conftest import new_user

SCOPES = ["assets.read", "assets.write", "devices.read"]


class _FromAddress(HTTPAdapter):
    """Connect from a given local address: API Gateway's sourceIp is the TCP peer."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def device(local_stack: Any) -> Iterator[requests.Session]:
    """A handheld with no credentials, on an address of its own (the local stack's loopback only)."""
    with requests.Session() as session:
        if local_stack.moto_url:
            address = f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"
            session.mount("http://", _FromAddress(address))
        yield session


@pytest.fixture
def alice(local_stack: Any, http: requests.Session) -> tuple[str, str]:
    return new_user(local_stack, http, "pair")


def _init(stack: Any, device: requests.Session, **changes: Any) -> requests.Response:
    body = {
        "client_device_identifier": f"install-{random.randrange(10**12)}",
        "name": "Pete's muOS handheld",
        "client": "grout",
        "platform": "muOS",
        "client_version": "1.4.0",
        "requested_scopes": SCOPES,
        **changes,
    }
    return device.post(f"{stack.base_url}/api/auth/device/init", json=body)


def _poll(stack: Any, session: requests.Session, device_code: str) -> requests.Response:
    return session.post(f"{stack.base_url}/api/auth/device/token", json={"device_code": device_code})


def _approve(
    stack: Any, http: requests.Session, user: Any, user_code: str, scopes: list[str]
) -> requests.Response:
    body = {"user_code": user_code, "approved_scopes": scopes}
    return http.post(f"{stack.base_url}/api/auth/device/approve", json=body, auth=user)


def test_device_auth_e2e_pairs_a_handheld_that_then_syncs_as_its_device(
    local_stack: Any, http: requests.Session, device: requests.Session, alice: tuple[str, str]
) -> None:
    base = local_stack.base_url
    started = _init(local_stack, device, client_device_identifier="grout-e2e-001")
    assert started.status_code == 201, started.text
    flow = started.json()
    assert _poll(local_stack, device, flow["device_code"]).json() == {"detail": "authorization_pending"}

    pending = http.get(f"{base}/api/auth/device/pending/{flow['user_code']}", auth=alice)
    assert pending.status_code == 200, pending.text
    assert pending.json()["allowed_scopes"] == sorted(SCOPES)
    approved = _approve(local_stack, http, alice, flow["user_code"], SCOPES)
    assert approved.status_code == 200, approved.text
    device_id = approved.json()["device_id"]

    issued = _poll(local_stack, device, flow["device_code"])
    assert issued.status_code == 200, issued.text
    token = issued.json()
    assert (token["device_id"], token["scopes"]) == (device_id, sorted(SCOPES))
    assert _poll(local_stack, device, flow["device_code"]).json() == {"detail": "expired_token"}

    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    shown = device.get(f"{base}/api/devices/{device_id}", headers=bearer)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["client_device_identifier"], shown.json()["client"]) == ("grout-e2e-001", "grout")
    # A device-bound token: its saves are its device's without naming it.
    rom = random.randrange(10**9, 2 * 10**9)
    catalog = {
        "name": "Emerald",
        "fs_name": "e.gba",
        "platform_id": 7,
        "platform_slug": "gba",
        "platform_fs_slug": "gba",
    }
    admin = (local_stack.admin_username, local_stack.admin_password)
    assert http.put(f"{base}/api/roms/{rom}", json=catalog, auth=admin).status_code == 200
    body, content_type = multipart({"saveFile": ("game.srm", b"progress")})
    uploaded = device.post(
        f"{base}/api/saves",
        params={"rom_id": rom, "slot": "main"},
        data=body,
        headers={**bearer, "Content-Type": content_type},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["origin_device_id"] == device_id

    # Pairing again from the same install reuses the device and keeps the first token working.
    again = _init(
        local_stack, device, client_device_identifier="grout-e2e-001", client_version="1.5.0"
    ).json()
    assert (
        _approve(local_stack, http, alice, again["user_code"], ["assets.read"]).json()["device_id"]
        == device_id
    )
    assert _poll(local_stack, device, again["device_code"]).status_code == 200
    assert device.get(f"{base}/api/devices/{device_id}", headers=bearer).json()["client_version"] == "1.5.0"


def test_device_auth_e2e_refusals_name_themselves(
    local_stack: Any, http: requests.Session, device: requests.Session, alice: tuple[str, str]
) -> None:
    base = local_stack.base_url
    flow = _init(local_stack, device).json()

    assert _poll(local_stack, device, flow["device_code"]).json()["detail"] == "authorization_pending"
    assert _poll(local_stack, device, flow["device_code"]).json()["detail"] == "slow_down"
    # no credentials at all: API Gateway's own 401; a scope beyond the viewer's account: 403
    assert http.get(f"{base}/api/auth/device/pending/{flow['user_code']}").status_code == 401
    refused = _approve(local_stack, http, alice, flow["user_code"], ["users.write"])
    assert refused.json() == {"detail": "Approved scopes exceed what's allowed for this user"}
    assert refused.status_code == 403

    denied = http.post(f"{base}/api/auth/device/deny", json={"user_code": flow["user_code"]}, auth=alice)
    assert denied.status_code == 200, denied.text
    polled = _poll(local_stack, device, flow["device_code"])
    assert (polled.status_code, polled.json()) == (400, {"detail": "access_denied"})
    gone = http.get(f"{base}/api/auth/device/pending/{flow['user_code']}", auth=alice)
    assert (gone.status_code, gone.json()) == (404, {"detail": "Unknown or expired code"})
    malformed = device.post(
        f"{base}/api/auth/device/token", data="{", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422


def test_device_auth_e2e_racing_polls_get_the_token_once(
    local_stack: Any, http: requests.Session, device: requests.Session, alice: tuple[str, str]
) -> None:
    flow = _init(local_stack, device).json()
    assert _approve(local_stack, http, alice, flow["user_code"], ["assets.read"]).status_code == 200
    start = threading.Barrier(4)
    answers: list[int] = []

    def poll() -> None:
        with requests.Session() as session:
            session.adapters = device.adapters  # the same device address
            start.wait()
            answers.append(_poll(local_stack, session, flow["device_code"]).status_code)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [200, 400, 400, 400]


def _calls_until_refused(call: Any, limit: int) -> tuple[int, requests.Response]:
    """(accepted calls, the first 429): at most 2 x limit + 1 calls, so one fixed window overflows
    even if a minute turns meanwhile."""
    for accepted in range(2 * limit + 1):
        response = call()
        if response.status_code == 429:
            return accepted, response
    raise AssertionError(f"no 429 after {2 * limit + 1} calls")


def test_device_auth_e2e_rate_limits_per_address(local_stack: Any, device: requests.Session) -> None:
    if not local_stack.moto_url:
        pytest.skip("needs addresses of its own (the local stack's loopback)")

    inits, refused_init = _calls_until_refused(lambda: _init(local_stack, device), 10)
    polls, refused_poll = _calls_until_refused(lambda: _poll(local_stack, device, "0" * 64), 60)

    assert 10 <= inits <= 20 and 60 <= polls <= 120  # exactly 10 and 60 unless a minute turned
    assert refused_init.json() == {"detail": "Too many authorize attempts. Try again later."}
    assert refused_poll.json() == {"detail": "Too many polling attempts. Try again later."}
