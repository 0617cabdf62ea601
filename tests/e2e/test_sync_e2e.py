"""The sync protocol over HTTP against the local stack: negotiate, transfers with session_id, complete."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.conftest import new_user


class Client:
    """One user of the stack, talking as RomM's clients do."""

    def __init__(
        self, stack: Any, http: requests.Session, auth: Any = None, token: str | None = None
    ) -> None:
        self.base, self.http, self.auth = stack.base_url, http, auth
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base}{path}"
        return self.http.request(method, url, auth=self.auth, headers=self.headers, timeout=30, **kwargs)

    def device(self, name: str) -> str:
        response = self.call("POST", "/api/devices", json={"name": name, "allow_duplicate": True})
        assert response.status_code == 201, response.text
        return str(response.json()["device_id"])

    def negotiate(self, device: str | None, saves: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        body = {"saves": saves, **extra} | ({"device_id": device} if device else {})
        response = self.call("POST", "/api/sync/negotiate", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def upload(self, data: bytes, device: str, session_id: int, **query: Any) -> dict[str, Any]:
        response = self.call(
            "POST",
            "/api/saves",
            params={"rom_id": 1, "slot": "autosave", "device_id": device, "session_id": session_id, **query},
            files={"saveFile": ("emerald.srm", data)},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def complete(self, session_id: int, **body: Any) -> requests.Response:
        return self.call("POST", f"/api/sync/sessions/{session_id}/complete", json=body)


@pytest.fixture
def alice(local_stack: Any, http: requests.Session) -> Client:
    client = Client(local_stack, http, new_user(local_stack, http, "sync", role="editor"))
    rom = {
        "name": "Emerald",
        "fs_name": "emerald.gba",
        "platform_id": 7,
        "platform_slug": "gba",
        "platform_fs_slug": "gba",
    }
    assert client.call("PUT", "/api/roms/1", json=rom).status_code == 200
    return client


def mine(save: dict[str, Any], **changes: Any) -> dict[str, Any]:
    entry = {
        "rom_id": save["rom_id"],
        "file_name": "emerald.srm",
        "slot": save["slot"],
        "emulator": save["emulator"],
        "content_hash": save["content_hash"],
        "updated_at": save["updated_at"],
        "file_size_bytes": save["file_size_bytes"],
    }
    return entry | changes


def test_sync_e2e_two_devices_one_slot_then_a_conflict(alice: Client) -> None:
    deck, switch = alice.device("Deck"), alice.device("Switch")

    # The deck uploads what negotiate planned, naming the session, and closes it.
    first = alice.negotiate(
        deck,
        [
            {
                "rom_id": 1,
                "file_name": "emerald.srm",
                "slot": "autosave",
                "updated_at": "2025-03-01T10:00:00Z",
                "file_size_bytes": 4,
            }
        ],
    )
    assert [op["action"] for op in first["operations"]] == ["upload"]
    saved = alice.upload(b"deck", deck, first["session_id"])
    closed = alice.complete(first["session_id"], operations_completed=1)
    assert closed.status_code == 200
    assert closed.json()["session"]["status"] == "COMPLETED"

    # The switch has never seen it: download, through /content with the session.
    second = alice.negotiate(switch, [])
    assert [(op["action"], op["save_id"]) for op in second["operations"]] == [("download", saved["id"])]
    content = alice.call(
        "GET",
        f"/api/saves/{saved['id']}/content",
        params={"device_id": switch, "session_id": second["session_id"]},
    )
    assert content.content == b"deck"
    plays = [
        {
            "rom_id": 1,
            "start_time": "2025-03-01T09:00:00Z",
            "end_time": "2025-03-01T09:30:00Z",
            "duration_ms": 1,
        }
    ]
    done = alice.complete(second["session_id"], operations_completed=1, play_sessions=plays)
    assert done.json()["play_session_ingest"]["created_count"] == 1
    session = alice.call("GET", f"/api/sync/sessions/{second['session_id']}").json()
    assert (session["operations_completed"], session["operations_planned"]) == (1, 1)

    # The deck writes a newer version; the switch played meanwhile: conflict, not a silent download.
    newer = alice.upload(b"deck v2", deck, first["session_id"])
    edited = mine(
        saved, content_hash=hashlib.md5(b"switch edit").hexdigest(), updated_at="2099-01-01T00:00:00Z"
    )
    third = alice.negotiate(switch, [edited])
    assert [(op["action"], op["save_id"]) for op in third["operations"]] == [("conflict", newer["id"])]
    assert third["total_conflict"] == 1

    listed = alice.call("GET", "/api/sync/sessions", params={"device_id": switch}).json()
    assert [s["id"] for s in listed] == [third["session_id"], second["session_id"]]
    assert alice.call("GET", "/api/play-sessions").json()[0]["device_id"] == switch


def test_sync_e2e_client_side_delete_and_direct_transfers(alice: Client, http: requests.Session) -> None:
    deck, switch = alice.device("Deck"), alice.device("Switch")
    opened = alice.negotiate(deck, [])["session_id"]
    saved = alice.upload(b"shared", deck, opened)

    # transfers: the plan carries a presigned GET that S3 (moto) serves without our credentials
    planned = alice.negotiate(switch, [], transfers=True)["operations"][0]
    assert http.get(planned["download_url"], timeout=30).content == b"shared"
    alice.call("POST", f"/api/saves/{saved['id']}/downloaded", json={"device_id": switch})

    # the deck deletes its copy and says so; the switch, which still holds it, is told to delete it
    assert alice.negotiate(deck, [], deleted=[{"rom_id": 1, "slot": "autosave"}])["operations"] == []
    switch_plan = alice.negotiate(switch, [mine(saved)], deleted=[])
    assert [(op["action"], op["slot"]) for op in switch_plan["operations"]] == [("delete", "autosave")]
    assert switch_plan["total_delete"] == 1


def test_sync_e2e_device_bound_token_without_device_id(
    alice: Client, local_stack: Any, http: requests.Session
) -> None:
    deck = alice.device("Deck")
    minted = alice.call(
        "POST",
        "/api/client-tokens",
        json={
            "name": f"deck-{uuid.uuid4().hex[:6]}",
            "scopes": ["assets.read", "assets.write"],
            "device_id": deck,
        },
    )
    assert minted.status_code == 201, minted.text
    token = Client(local_stack, http, token=minted.json()["raw_token"])

    answer = token.negotiate(None, [])
    session = token.call("GET", f"/api/sync/sessions/{answer['session_id']}")

    assert session.status_code == 200 and session.json()["device_id"] == deck


def test_sync_e2e_every_refusal(alice: Client, local_stack: Any, http: requests.Session) -> None:
    deck = alice.device("Deck")
    bob = Client(local_stack, http, new_user(local_stack, http, "sync"))
    bobs_device = bob.device("Bob's")
    entry = {
        "rom_id": 1,
        "file_name": "a.srm",
        "slot": "1",
        "updated_at": "2025-03-01T10:00:00Z",
        "file_size_bytes": 1,
    }

    def negotiate(body: dict[str, Any]) -> tuple[int, Any]:
        response = alice.call("POST", "/api/sync/negotiate", json=body)
        return response.status_code, response.json()["detail"]

    assert negotiate({"device_id": "nope", "saves": []}) == (404, "Device with ID nope not found")
    assert negotiate({"device_id": bobs_device, "saves": []}) == (
        404,
        f"Device with ID {bobs_device} not found",
    )
    assert negotiate({"saves": []})[0] == 400
    assert negotiate({"device_id": deck, "saves": [entry | {"updated_at": "tomorrow-ish"}]})[0] == 422
    assert negotiate({"device_id": deck, "saves": [entry] * 10_001})[0] == 422
    alice.call("PUT", f"/api/devices/{deck}", json={"sync_enabled": False})
    assert negotiate({"device_id": deck, "saves": []}) == (400, "Sync is disabled for this device")
    alice.call("PUT", f"/api/devices/{deck}", json={"sync_enabled": True})

    opened = alice.negotiate(deck, [])["session_id"]
    assert alice.complete(opened).status_code == 200
    again = alice.complete(opened)
    assert (again.status_code, again.json()["detail"]) == (400, "Session is already COMPLETED")
    assert alice.call("GET", "/api/sync/sessions/12345").status_code == 404
    assert bob.call("GET", f"/api/sync/sessions/{opened}").status_code == 404

    empty = alice.call("POST", "/api/play-sessions", json={"sessions": []})
    assert (empty.status_code, empty.json()["detail"]) == (400, "Payload must contain at least one session")
    play = {"start_time": "2025-03-01T09:00:00Z", "end_time": "2025-03-01T09:30:00Z", "duration_ms": 1}
    many = alice.call("POST", "/api/play-sessions", json={"sessions": [play] * 101})
    assert (many.status_code, many.json()["detail"]) == (400, "Batch size exceeds maximum of 100")
    backwards = alice.call(
        "POST", "/api/play-sessions", json={"sessions": [play | {"end_time": "2025-03-01T08:00:00Z"}]}
    )
    assert backwards.status_code == 422
    gone = alice.call("DELETE", "/api/play-sessions/12345")
    assert (gone.status_code, gone.json()["detail"]) == (404, "Play session 12345 not found")
