"""Devices over HTTP against the local stack: registration, fingerprint reuse, CRUD, sync cleanup."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.e2e.conftest import new_user


@pytest.fixture
def alice(local_stack: Any, http: requests.Session) -> tuple[str, str]:
    return new_user(local_stack, http, "dev")


@pytest.fixture
def bob(local_stack: Any, http: requests.Session) -> tuple[str, str]:
    return new_user(local_stack, http, "dev")


def test_devices_e2e_lifecycle(local_stack: Any, http: requests.Session, alice: tuple[str, str]) -> None:
    base = f"{local_stack.base_url}/api/devices"
    mac = "02:00:00:" + ":".join(f"{b:02x}" for b in uuid.uuid4().bytes[:3])
    body = {
        "name": "Steam Deck",
        "platform": "linux",
        "client": "argosy",
        "client_version": "1.4.0",
        "mac_address": mac,
        "hostname": "steamdeck",
        "sync_mode": "file_transfer",
        "sync_config": {"ssh_password": "hunter2", "ssh_key_path": "/home/deck/.ssh/id", "port": 22},
    }

    created = http.post(base, json=body, auth=alice)
    assert created.status_code == 201, created.text
    device_id = created.json()["device_id"]

    again = http.post(base, json={**body, "mac_address": mac.upper(), "name": "Other"}, auth=alice)
    assert (again.status_code, again.json()) == (200, created.json())

    refused = http.post(base, json={**body, "allow_existing": False}, auth=alice)
    assert refused.status_code == 409
    assert refused.json()["detail"]["device_id"] == device_id
    assert refused.json()["detail"]["error"] == "device_exists"

    listed = http.get(base, auth=alice)
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()] == [device_id]
    assert listed.json()[0]["sync_config"] == {
        "ssh_password": "********",
        "ssh_key_path": "********",
        "port": 22,
    }

    updated = http.put(
        f"{base}/{device_id}", json={"sync_enabled": False, "client_version": "1.5.0"}, auth=alice
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["sync_enabled"], updated.json()["client_version"]) == (False, "1.5.0")
    assert updated.json()["name"] == "Steam Deck"
    assert updated.json()["updated_at"] > listed.json()[0]["updated_at"]
    assert http.get(f"{base}/{device_id}", auth=alice).json() == updated.json()

    bad = http.put(f"{base}/{device_id}", json={"sync_mode": "carrier-pigeon"}, auth=alice)
    assert bad.status_code == 422
    assert "detail" in bad.json()

    deleted = http.delete(f"{base}/{device_id}", auth=alice)
    assert deleted.status_code == 204
    assert http.get(f"{base}/{device_id}", auth=alice).status_code == 404
    assert http.get(base, auth=alice).json() == []


def test_devices_e2e_other_users_device_is_404(
    local_stack: Any, http: requests.Session, alice: tuple[str, str], bob: tuple[str, str]
) -> None:
    base = f"{local_stack.base_url}/api/devices"
    device_id = http.post(base, json={"name": "Alice's"}, auth=alice).json()["device_id"]

    assert http.get(f"{base}/{device_id}", auth=bob).status_code == 404
    assert http.put(f"{base}/{device_id}", json={"name": "Bob's"}, auth=bob).status_code == 404
    assert http.delete(f"{base}/{device_id}", auth=bob).status_code == 404
    assert http.get(base, auth=bob).json() == []
    assert http.get(f"{base}/{device_id}", auth=alice).json()["name"] == "Alice's"


def test_devices_e2e_bad_requests(local_stack: Any, http: requests.Session, alice: tuple[str, str]) -> None:
    base = f"{local_stack.base_url}/api/devices"

    malformed = http.post(base, data='{"name": ', headers={"Content-Type": "application/json"}, auth=alice)
    bad_mode = http.post(base, json={"sync_mode": "bluetooth"}, auth=alice)
    unauthenticated = http.get(base)

    assert 400 <= malformed.status_code < 500 and "detail" in malformed.json()
    assert bad_mode.status_code == 422
    assert unauthenticated.status_code == 401
    assert http.get(f"{base}/{'x' * 65}", auth=alice).status_code == 422


def test_devices_e2e_delete_removes_sync_records(
    local_stack: Any, http: requests.Session, alice: tuple[str, str]
) -> None:
    """Device A uploads a save (gets a sync record); after A is deleted, device B no longer sees A's sync."""
    api = f"{local_stack.base_url}/api"
    admin = (local_stack.admin_username, local_stack.admin_password)
    rom_id = 900_000 + uuid.uuid4().int % 90_000
    rom = {
        "name": "Test ROM",
        "fs_name": "test.gba",
        "platform_id": 1,
        "platform_slug": "gba",
        "platform_fs_slug": "gba",
    }
    assert http.put(f"{api}/roms/{rom_id}", json=rom, auth=admin).status_code == 200
    device_a = http.post(f"{api}/devices", json={"name": "A", "allow_duplicate": True}, auth=alice).json()[
        "device_id"
    ]
    device_b = http.post(f"{api}/devices", json={"name": "B", "allow_duplicate": True}, auth=alice).json()[
        "device_id"
    ]

    uploaded = http.post(
        f"{api}/saves",
        params={"rom_id": rom_id, "emulator": "mgba", "device_id": device_a},
        files={"saveFile": ("test.sav", b"\x00save-bytes\x01", "application/octet-stream")},
        auth=alice,
    )
    assert uploaded.status_code == 200, uploaded.text
    save_id = uploaded.json()["id"]

    def synced_devices() -> list[str]:
        seen = http.get(f"{api}/saves/{save_id}", params={"device_id": device_b}, auth=alice)
        assert seen.status_code == 200, seen.text
        return [sync["device_id"] for sync in seen.json()["device_syncs"]]

    assert device_a in synced_devices()
    assert http.delete(f"{api}/devices/{device_a}", auth=alice).status_code == 204
    assert device_a not in synced_devices()
