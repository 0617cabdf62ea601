"""The RomM client surface end to end over HTTP: token pairing (racing exchanges, the rate limit),
minting never widens, regenerate, platforms, activity, gallery screenshots, the served contract."""

from __future__ import annotations

import http.client
import json
import os
import threading
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import new_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
LOCAL_ONLY = pytest.mark.skipif(
    bool(os.environ.get("AWS_SAM_STACK_NAME")), reason="needs loopback source addresses of its own"
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(stack, username: str, password: str) -> str:
    response = requests.post(f"{stack.base_url}/api/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def from_address(stack, source: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One request sent from `source` (a loopback address of its own: the rate limit is per address)."""
    url = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        text = response.read().decode()
        return response.status, (json.loads(text) if text else {})
    finally:
        connection.close()


@pytest.fixture(scope="module")
def player(local_stack):
    with requests.Session() as http_session:
        username, password = new_user(local_stack, http_session, "surface")
    return login(local_stack, username, password)


def mint(stack, token: str, scopes: list[str], **extra) -> requests.Response:
    body = {"name": f"t-{uuid.uuid4().hex[:6]}", "scopes": scopes, **extra}
    return requests.post(f"{stack.base_url}/api/client-tokens", json=body, headers=bearer(token))


@LOCAL_ONLY
def test_two_racing_exchanges_of_one_code_yield_one_token(local_stack, player):
    for round_number in range(3):
        created = mint(local_stack, player, ["platforms.read", "me.read"]).json()
        code = requests.post(
            f"{local_stack.base_url}/api/client-tokens/{created['id']}/pair", headers=bearer(player)
        ).json()["code"]
        assert requests.get(f"{local_stack.base_url}/api/client-tokens/pair/{code}/status").status_code == 200
        source = f"127.0.0.{20 + round_number}"
        results: list[tuple[int, dict]] = []
        start = threading.Barrier(2)

        def exchange(source=source, code=code, results=results, start=start) -> None:
            start.wait()
            results.append(
                from_address(local_stack, source, "POST", "/api/client-tokens/exchange", {"code": code})
            )

        racers = [threading.Thread(target=exchange) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()

        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 404], results
        winner = next(body for status, body in results if status == 200)
        fresh = requests.get(f"{local_stack.base_url}/api/platforms", headers=bearer(winner["raw_token"]))
        stale = requests.get(f"{local_stack.base_url}/api/platforms", headers=bearer(created["raw_token"]))
        assert fresh.status_code == 200 and stale.status_code == 401
        assert requests.get(f"{local_stack.base_url}/api/client-tokens/pair/{code}/status").status_code == 404


@LOCAL_ONLY
def test_exchange_rate_limit_is_per_address(local_stack):
    statuses = [
        from_address(local_stack, "127.0.0.50", "POST", "/api/client-tokens/exchange", {"code": "ABCD-2345"})[
            0
        ]
        for _ in range(6)
    ]
    assert statuses == [404] * 5 + [429]
    status, body = from_address(
        local_stack, "127.0.0.50", "POST", "/api/client-tokens/exchange", {"code": "x"}
    )
    assert status == 429 and body == {"detail": "Too many exchange attempts. Try again later."}


def test_minting_never_widens_and_regenerate_refuses_the_old_value(local_stack, player):
    limited = mint(local_stack, player, ["me.write"]).json()["raw_token"]
    wider = mint(local_stack, limited, ["me.write", "assets.read"])
    assert wider.status_code == 403
    assert wider.json() == {"detail": "Requested scopes exceed your permissions: assets.read"}
    carried = mint(local_stack, player, ["roms.user.read", "collections.read"])  # features absent here
    assert carried.status_code == 201 and carried.json()["scopes"] == ["collections.read", "roms.user.read"]

    created = mint(local_stack, player, ["me.read"]).json()
    renewed = requests.put(
        f"{local_stack.base_url}/api/client-tokens/{created['id']}/regenerate", headers=bearer(player)
    )
    assert renewed.status_code == 200
    me = f"{local_stack.base_url}/api/users/me"
    assert requests.get(me, headers=bearer(created["raw_token"])).status_code == 401
    profile = requests.get(me, headers=bearer(renewed.json()["raw_token"]))
    assert profile.status_code == 200 and profile.json()["current_device_id"] is None


def test_platforms_activity_and_screenshots(local_stack, player, http):
    base = local_stack.base_url
    editor = login(local_stack, *new_user(local_stack, http, "surface-ed", role="editor"))
    rom_id = uuid.uuid4().int % 10**12 + 10**9
    rom = {
        "name": "Metroid Fusion",
        "fs_name": "Metroid Fusion.gba",
        "platform_id": 424242,
        "platform_slug": "gba",
        "platform_fs_slug": "gba",
    }
    assert requests.put(f"{base}/api/roms/{rom_id}", json=rom, headers=bearer(editor)).status_code == 200
    platform = requests.get(f"{base}/api/platforms/424242", headers=bearer(player)).json()
    assert platform["slug"] == "gba" and platform["rom_count"] >= 1
    assert any(
        p["id"] == 424242 for p in requests.get(f"{base}/api/platforms", headers=bearer(player)).json()
    )

    # activity: an unknown device is refused; a registered one plays
    unknown = requests.post(
        f"{base}/api/activity/heartbeat", json={"rom_id": rom_id, "device_id": "nope"}, headers=bearer(player)
    )
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Device nope not found for this user"}
    device = requests.post(
        f"{base}/api/devices", json={"name": "Deck", "client": "decky"}, headers=bearer(player)
    )
    device_id = device.json()["device_id"]
    beat = requests.post(
        f"{base}/api/activity/heartbeat",
        json={"rom_id": rom_id, "device_id": device_id},
        headers=bearer(player),
    )
    assert beat.status_code == 200 and beat.json()["rom_name"] == "Metroid Fusion"
    playing = requests.get(f"{base}/api/activity/rom/{rom_id}", headers=bearer(player)).json()
    assert [entry["device_id"] for entry in playing] == [device_id]
    assert requests.get(f"{base}/api/activity/rom/{rom_id}", headers=bearer(editor)).json() == []

    # screenshots: private until shared, images only
    files = {"screenshotFile": ("boss.png", PNG, "image/png")}
    shot = requests.post(
        f"{base}/api/screenshots", params={"rom_id": rom_id}, files=files, headers=bearer(player)
    )
    assert shot.status_code == 200, shot.text
    content = f"{base}/api/screenshots/{shot.json()['id']}/content"
    assert requests.get(content, headers=bearer(editor)).status_code == 404
    shared = requests.put(
        f"{base}/api/screenshots/{shot.json()['id']}", json={"is_public": True}, headers=bearer(player)
    )
    assert shared.status_code == 200
    seen = requests.get(content, headers=bearer(editor))
    assert seen.status_code == 200 and seen.content == PNG and seen.headers["Content-Type"] == "image/png"
    text = {"screenshotFile": ("boss.png", b"#!/bin/sh\necho not an image\n", "image/png")}
    refused = requests.post(
        f"{base}/api/screenshots", params={"rom_id": rom_id}, files=text, headers=bearer(player)
    )
    assert refused.status_code == 400 and "not an image" in refused.json()["detail"]


def test_openapi_and_heartbeat_are_public(local_stack):
    document = requests.get(f"{local_stack.base_url}/openapi.json")
    assert document.status_code == 200 and document.headers.get("Content-Encoding") == "gzip"
    assert "/api/client-tokens/exchange" in document.json()["paths"]
    system = requests.get(f"{local_stack.base_url}/api/heartbeat").json()["SYSTEM"]
    assert system["VERSION"] == "5.2.0" and system["CLOUD_SAVES_VERSION"]
