"""The sync functions (negotiate, sync sessions) against moto: events in, API Gateway responses out."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from cloudsaves.aws import table
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.models.roms import RomUpsert
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.repositories.sync import SyncRepository
from cloudsaves.services.roms import upsert_rom
from tests.assets_support import multipart
from tests.conftest import api_event, load_event, load_function, make_principal, response_json
from tests.sync_support import save_record, stored_saves

USER = make_principal(user_id=1001, username="alice")
OTHER = make_principal(user_id=2002, username="bob")
DECK, SWITCH = "3f1c2a4e-8d7b-4b2a-9c1e-5a6b7c8d9e0f", "7a0d5a4e-2f61-4d8e-9a55-2b0f3c9d1e77"
BOBS = "0b0b0b0b-0000-4000-8000-000000000000"
DECK_TOKEN = make_principal(
    user_id=1001, username="alice", device_id=DECK, scopes=frozenset({"assets.read", "assets.write"})
)
CREATED = "2025-03-01T12:00:00.000000+00:00"


@pytest.fixture(autouse=True)
def seeded(aws: None) -> None:
    upsert_rom(
        10,
        RomUpsert(
            name="Emerald", fs_name="emerald.gba", platform_id=1, platform_slug="gba", platform_fs_slug="gba"
        ),
    )
    repo = DevicesRepository(table())
    for device_id, user_id, name in ((DECK, 1001, "Deck"), (SWITCH, 1001, "Switch"), (BOBS, 2002, "Bob's")):
        repo.create(
            DeviceRecord(id=device_id, user_id=user_id, name=name, created_at=CREATED, updated_at=CREATED)
        )


@functools.cache
def function(name: str) -> ModuleType:
    return load_function(name)


def call(name: str, method: str, path: str, ctx: Any, *, principal=USER, **kwargs: Any) -> dict[str, Any]:
    return function(name).lambda_handler(api_event(method, path, principal=principal, **kwargs), ctx)


def negotiate(ctx: Any, body: dict[str, Any], *, principal=USER) -> dict[str, Any]:
    return call("negotiate_sync", "POST", "/api/sync/negotiate", ctx, principal=principal, body=body)


def plan(ctx: Any, device: str, saves: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    response = negotiate(ctx, {"device_id": device, "saves": saves, **extra})
    assert response["statusCode"] == 200, response
    return response_json(response)


def upload(ctx: Any, data: bytes, device: str, *, slot: str = "autosave", **query: str) -> dict[str, Any]:
    body, content_type = multipart({"saveFile": ("emerald.srm", data)})
    response = call(
        "upload_save",
        "POST",
        "/api/saves",
        ctx,
        query={"rom_id": "10", "slot": slot, "device_id": device, **query},
        body=body,
        headers={"content-type": content_type},
    )
    assert response["statusCode"] == 200, response
    return response_json(response)


def entry(save: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A manifest entry: the client's copy of `save` unless `fields` say otherwise."""
    base = {
        "rom_id": 10,
        "file_name": "emerald.srm",
        "slot": "autosave",
        "emulator": None,
        "file_size_bytes": 4,
    }
    if save is not None:
        base |= {"content_hash": save["content_hash"], "updated_at": save["updated_at"]}
    return base | fields


def session(ctx: Any, session_id: int, principal=USER) -> dict[str, Any]:
    path = f"/api/sync/sessions/{session_id}"
    response = call(
        "get_sync_session",
        "GET",
        path,
        ctx,
        principal=principal,
        route="/api/sync/sessions/{session_id}",
        path_params={"session_id": str(session_id)},
    )
    return response


def complete(ctx: Any, session_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return call(
        "complete_sync_session",
        "POST",
        f"/api/sync/sessions/{session_id}/complete",
        ctx,
        route="/api/sync/sessions/{session_id}/complete",
        path_params={"session_id": str(session_id)},
        body=body,
    )


def actions(answer: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(op["action"], op["save_id"]) for op in answer["operations"]]


# --- negotiate: RomM's answers ---------------------------------------------------------------------


def test_negotiate_sample_event(lambda_context: Any) -> None:
    response = function("negotiate_sync").lambda_handler(
        load_event("negotiate_sync/manifest.json"), lambda_context
    )

    assert response["statusCode"] == 200
    body = response_json(response)
    assert [op["action"] for op in body["operations"]] == ["upload", "upload"]
    assert set(body) == {
        "session_id",
        "operations",
        "total_upload",
        "total_download",
        "total_conflict",
        "total_no_op",
    }


def test_negotiate_two_devices_on_one_slot(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"deck", DECK)

    deck = plan(lambda_context, DECK, [entry(saved)])
    switch = plan(lambda_context, SWITCH, [])

    assert actions(deck) == [("no_op", saved["id"])]
    assert actions(switch) == [("download", saved["id"])]
    op = switch["operations"][0]
    assert op["reason"] == "Save exists on server but not on client"
    assert (op["server_content_hash"], op["slot"], op["file_name"]) == (
        saved["content_hash"],
        "autosave",
        saved["file_name"],
    )
    assert set(op) == {
        "action",
        "rom_id",
        "save_id",
        "file_name",
        "slot",
        "emulator",
        "reason",
        "server_updated_at",
        "server_content_hash",
    }
    assert (switch["total_download"], switch["total_no_op"], deck["total_no_op"]) == (1, 0, 1)


def test_negotiate_conflict_when_both_changed_since_last_sync(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"v1", DECK)
    newer = upload(lambda_context, b"v2", SWITCH, overwrite="true")

    answer = plan(lambda_context, DECK, [entry(content_hash="local", updated_at="2099-01-01T00:00:00Z")])

    assert actions(answer) == [("conflict", newer["id"])]
    assert answer["operations"][0]["reason"] == (
        "Slot has a newer save than the one this device last synced, and this copy changed too"
    )
    assert saved["id"] != newer["id"]


def test_negotiate_upload_when_only_the_client_changed(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"v1", DECK)

    answer = plan(lambda_context, DECK, [entry(content_hash="edited", updated_at="2099-01-01T00:00:00Z")])

    assert actions(answer) == [("upload", saved["id"])]
    assert answer["operations"][0]["reason"] == "Client save is newer than last sync"


def test_negotiate_client_deleted_synced_save_is_left_alone(lambda_context: Any) -> None:
    upload(lambda_context, b"v1", DECK)

    assert plan(lambda_context, DECK, [])["operations"] == []


def test_negotiate_opens_an_in_progress_session_and_cancels_the_open_one(lambda_context: Any) -> None:
    upload(lambda_context, b"v1", DECK)
    first = plan(lambda_context, SWITCH, [entry(slot=None, updated_at="2025-01-01T00:00:00Z")])

    second = plan(lambda_context, SWITCH, [])

    old = response_json(session(lambda_context, first["session_id"]))
    new = response_json(session(lambda_context, second["session_id"]))
    assert (old["status"], old["operations_planned"]) == ("CANCELLED", 2)
    assert old["completed_at"] is not None
    assert (new["status"], new["device_id"], new["operations_planned"]) == ("IN_PROGRESS", SWITCH, 1)


def test_negotiate_survives_the_open_sessions_index_lagging(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a completed session that the (eventually consistent) open-sessions index still lists
    done = plan(lambda_context, DECK, [])["session_id"]
    assert complete(lambda_context, done, {})["statusCode"] == 200
    lagging = SyncRepository.open_session_ids
    monkeypatch.setattr(
        SyncRepository,
        "open_session_ids",
        lambda self, user_id, device_id: [done, *lagging(self, user_id, device_id)],
    )

    # When the device negotiates again, Then it gets a session and the completed one stays completed
    opened = plan(lambda_context, DECK, [])["session_id"]

    assert response_json(session(lambda_context, opened))["status"] == "IN_PROGRESS"
    assert response_json(session(lambda_context, done))["status"] == "COMPLETED"


def test_negotiate_moves_the_devices_last_seen(lambda_context: Any) -> None:
    plan(lambda_context, SWITCH, [])

    device = DevicesRepository(table()).get(1001, SWITCH)
    assert device is not None and device.last_seen is not None and device.last_seen > CREATED


def test_negotiate_with_a_device_bound_token_and_no_device_id(lambda_context: Any) -> None:
    response = negotiate(lambda_context, {"saves": []}, principal=DECK_TOKEN)

    assert response["statusCode"] == 200
    opened = response_json(session(lambda_context, response_json(response)["session_id"]))
    assert opened["device_id"] == DECK


# --- negotiate: refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"device_id": "no-such-device", "saves": []}, 404, "Device with ID no-such-device not found"),
        ({"device_id": BOBS, "saves": []}, 404, f"Device with ID {BOBS} not found"),
        ({"device_id": "x" * 255, "saves": []}, 404, f"Device with ID {'x' * 255} not found"),
        ({"saves": []}, 400, "device_id is required (or authenticate with a device-bound token)"),
    ],
)
def test_negotiate_refuses_without_an_own_device(
    lambda_context: Any, body: dict, status: int, detail: str
) -> None:
    response = negotiate(lambda_context, body)

    assert response["statusCode"] == status
    assert response_json(response)["detail"] == detail


def test_negotiate_refuses_a_device_with_sync_disabled(lambda_context: Any) -> None:
    DevicesRepository(table()).update(1001, SWITCH, {"sync_enabled": False}, CREATED)

    response = negotiate(lambda_context, {"device_id": SWITCH, "saves": []})

    assert response["statusCode"] == 400
    assert response_json(response)["detail"] == "Sync is disabled for this device"


@pytest.mark.parametrize(
    "bad",
    [
        {"updated_at": "yesterday"},
        {"updated_at": "2025-13-45T00:00:00Z"},
        {"rom_id": "ten"},
        {"file_size_bytes": -1},
    ],
)
def test_negotiate_malformed_entry_is_422_naming_the_field(lambda_context: Any, bad: dict) -> None:
    body = {"device_id": DECK, "saves": [entry(updated_at="2025-01-01T00:00:00Z") | bad]}

    response = negotiate(lambda_context, body)

    assert response["statusCode"] == 422
    (field,) = bad
    assert field in response_json(response)["detail"][0]["loc"]


def test_negotiate_manifest_over_10000_entries_is_422(lambda_context: Any) -> None:
    saves = [entry(slot=str(i), updated_at="2025-01-01T00:00:00Z") for i in range(10_001)]

    response = negotiate(lambda_context, {"device_id": DECK, "saves": saves})

    assert response["statusCode"] == 422
    assert "saves" in response_json(response)["detail"][0]["loc"]


def test_negotiate_needs_assets_read_and_devices_read(lambda_context: Any) -> None:
    for scopes in ({"assets.read"}, {"devices.read"}):
        principal = make_principal(user_id=1001, scopes=frozenset(scopes))
        assert (
            negotiate(lambda_context, {"device_id": DECK, "saves": []}, principal=principal)["statusCode"]
            == 403
        )
    assert negotiate(lambda_context, {"device_id": DECK, "saves": []}, principal=None)["statusCode"] == 401


# --- beyond RomM: opt-in fields --------------------------------------------------------------------


def test_negotiate_transfers_sign_downloads_and_hint_uploads(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"deck", DECK)

    answer = plan(
        lambda_context,
        SWITCH,
        [entry(slot="quick", content_hash="q", updated_at="2025-01-01T00:00:00Z", file_size_bytes=9)],
        transfers=True,
    )

    upload_op, download_op = answer["operations"]
    assert download_op["save_id"] == saved["id"] and "X-Amz-Signature=" in download_op["download_url"]
    assert download_op["expires_at"] > saved["updated_at"]
    assert upload_op["upload"] == {
        "method": "POST",
        "path": "/api/saves/uploads",
        "body": {
            "rom_id": 10,
            "emulator": None,
            "file_name": "emerald.srm",
            "file_size_bytes": 9,
            "slot": "quick",
            "device_id": SWITCH,
        },
    }
    assert "download_url" not in upload_op and "upload" not in download_op


def test_negotiate_states_are_answered_apart(lambda_context: Any) -> None:
    body, content_type = multipart({"stateFile": ("emerald.state", b"state")})
    stored = response_json(
        call(
            "upload_state",
            "POST",
            "/api/states",
            lambda_context,
            query={"rom_id": "10", "emulator": "mgba"},
            body=body,
            headers={"content-type": content_type},
        )
    )
    mine = {
        "rom_id": 10,
        "file_name": "other.state",
        "emulator": "mgba",
        "updated_at": "2025-01-01T00:00:00Z",
        "file_size_bytes": 3,
    }

    answer = plan(lambda_context, DECK, [], states=[mine])

    assert [(op["action"], op["state_id"]) for op in answer["state_operations"]] == [
        ("upload", None),
        ("download", stored["id"]),
    ]
    assert answer["state_totals"] == {
        "total_upload": 1,
        "total_download": 1,
        "total_conflict": 0,
        "total_no_op": 0,
    }
    # the session counts what the client will do: the state upload and download (no saves here)
    assert response_json(session(lambda_context, answer["session_id"]))["operations_planned"] == 2
    assert "state_operations" not in plan(lambda_context, DECK, [])


def test_negotiate_api_delete_becomes_delete_on_other_devices(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"v1", DECK)
    call("delete_saves", "POST", "/api/saves/delete", lambda_context, body={"saves": [saved["id"]]})

    aware = plan(lambda_context, SWITCH, [entry(saved)], deleted=[])
    romm = plan(lambda_context, SWITCH, [entry(saved)])

    assert [(op["action"], op["reason"]) for op in aware["operations"]] == [
        ("delete", "Save was deleted on another device")
    ]
    assert aware["total_delete"] == 1
    assert response_json(session(lambda_context, aware["session_id"]))["operations_planned"] == 1
    assert [op["action"] for op in romm["operations"]] == ["upload"] and "total_delete" not in romm


def test_negotiate_deleting_only_the_newest_save_rolls_the_slot_back(lambda_context: Any) -> None:
    older = upload(lambda_context, b"v1", DECK)
    newer = upload(lambda_context, b"v2", DECK)
    call("delete_saves", "POST", "/api/saves/delete", lambda_context, body={"saves": [newer["id"]]})

    answer = plan(lambda_context, SWITCH, [], deleted=[])

    assert actions(answer) == [("download", older["id"])]  # no tombstone: the slot still has a save
    assert table().get_item(Key={"pk": "U#1001", "sk": "TOMBSTONE#SAVE#10#autosave"}).get("Item") is None


def test_negotiate_client_side_delete_is_planned_as_delete_elsewhere(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"v1", DECK)
    plan(lambda_context, SWITCH, [entry(saved)])  # the switch holds it too

    gone = plan(lambda_context, DECK, [], deleted=[{"rom_id": 10, "slot": "autosave"}])
    switch = plan(lambda_context, SWITCH, [entry(saved)], deleted=[])
    newcomer = plan(lambda_context, SWITCH, [], deleted=[])

    assert gone["operations"] == []
    assert [(op["action"], op["save_id"]) for op in switch["operations"]] == [("delete", None)]
    assert newcomer["operations"] == []  # never downloaded back
    listed = response_json(call("list_saves", "GET", "/api/saves", lambda_context))
    assert [s["id"] for s in listed] == [saved["id"]]  # the server keeps the bytes: nothing is lost


# --- sessions --------------------------------------------------------------------------------------


def test_sessions_list_newest_first_by_device_and_limit(lambda_context: Any) -> None:
    first = plan(lambda_context, DECK, [])["session_id"]
    second = plan(lambda_context, SWITCH, [])["session_id"]
    third = plan(lambda_context, DECK, [])["session_id"]

    def listed(**query: str) -> list[int]:
        response = call("list_sync_sessions", "GET", "/api/sync/sessions", lambda_context, query=query)
        assert response["statusCode"] == 200
        return [s["id"] for s in response_json(response)]

    assert listed() == [third, second, first]
    assert listed(device_id=DECK) == [third, first]
    assert listed(limit="1") == [third]
    assert listed(device_id="unknown") == []


def test_sessions_sample_events(lambda_context: Any) -> None:
    for name, case, status in (
        ("list_sync_sessions", "by_device", 200),
        ("get_sync_session", "unknown_session", 404),
        ("complete_sync_session", "unknown_session", 404),
    ):
        response = function(name).lambda_handler(load_event(f"{name}/{case}.json"), lambda_context)
        assert response["statusCode"] == status, name


def test_sessions_of_another_user_are_404(lambda_context: Any) -> None:
    mine = plan(lambda_context, DECK, [])["session_id"]

    response = session(lambda_context, mine, principal=OTHER)

    assert response["statusCode"] == 404
    assert response_json(response)["detail"] == f"Sync session with ID {mine} not found"


def test_sessions_complete_takes_the_clients_counts_once(lambda_context: Any) -> None:
    opened = plan(lambda_context, DECK, [entry(slot=None, updated_at="2025-01-01T00:00:00Z")])["session_id"]

    done = complete(lambda_context, opened, {"operations_completed": 3, "operations_failed": 1})
    again = complete(lambda_context, opened, {})

    assert done["statusCode"] == 200
    body = response_json(done)
    assert body["play_session_ingest"] is None
    assert (body["session"]["status"], body["session"]["operations_completed"]) == ("COMPLETED", 3)
    assert (body["session"]["operations_failed"], body["session"]["operations_planned"]) == (1, 1)
    assert (again["statusCode"], response_json(again)["detail"]) == (400, "Session is already COMPLETED")


def test_sessions_complete_a_cancelled_session_is_400(lambda_context: Any) -> None:
    old = plan(lambda_context, DECK, [])["session_id"]
    plan(lambda_context, DECK, [])

    response = complete(lambda_context, old, {})

    assert (response["statusCode"], response_json(response)["detail"]) == (
        400,
        "Session is already CANCELLED",
    )


def test_sessions_complete_ingests_play_sessions_on_the_sessions_device(lambda_context: Any) -> None:
    opened = plan(lambda_context, DECK, [])["session_id"]
    play = {
        "rom_id": 10,
        "start_time": "2025-03-01T10:00:00Z",
        "end_time": "2025-03-01T11:00:00Z",
        "duration_ms": 1,
    }

    body = response_json(complete(lambda_context, opened, {"play_sessions": [play, play]}))

    ingest = body["play_session_ingest"]
    assert (ingest["created_count"], ingest["skipped_count"]) == (1, 1)
    assert [r["status"] for r in ingest["results"]] == ["created", "duplicate"]
    listed = response_json(call("list_play_sessions", "GET", "/api/play-sessions", lambda_context))
    assert [(p["device_id"], p["rom_id"]) for p in listed] == [(DECK, 10)]


def test_sessions_count_transfers_that_name_them(lambda_context: Any) -> None:
    saved = upload(lambda_context, b"v1", DECK)
    opened = plan(lambda_context, SWITCH, [])["session_id"]

    call(
        "download_save",
        "GET",
        f"/api/saves/{saved['id']}/content",
        lambda_context,
        route="/api/saves/{id}/content",
        path_params={"id": str(saved["id"])},
        query={"device_id": SWITCH, "session_id": str(opened)},
    )
    upload(lambda_context, b"v2", SWITCH, session_id=str(opened), slot="other")
    complete(lambda_context, opened, {"operations_completed": 2})
    upload(
        lambda_context, b"v3", SWITCH, session_id=str(opened), slot="third"
    )  # after complete: still counts

    assert response_json(session(lambda_context, opened))["operations_completed"] == 3


def test_sessions_bad_or_foreign_session_id_never_fails_the_transfer(lambda_context: Any) -> None:
    bobs = response_json(negotiate(lambda_context, {"device_id": BOBS, "saves": []}, principal=OTHER))[
        "session_id"
    ]

    first = upload(lambda_context, b"v1", DECK, session_id=str(bobs))
    second = upload(lambda_context, b"v2", DECK, session_id="999", slot="other")

    assert first["id"] > 0 and second["id"] > 0
    assert response_json(session(lambda_context, bobs, principal=OTHER))["operations_completed"] == 0
    assert table().get_item(Key={"pk": "U#1001", "sk": f"SYNCSESSION#{999:020d}"}).get("Item") is None


def test_sessions_device_bound_token_sees_only_its_device(lambda_context: Any) -> None:
    switch = plan(lambda_context, SWITCH, [])["session_id"]
    deck = plan(lambda_context, DECK, [])["session_id"]

    listed = call("list_sync_sessions", "GET", "/api/sync/sessions", lambda_context, principal=DECK_TOKEN)

    assert [s["id"] for s in response_json(listed)] == [deck]
    assert session(lambda_context, switch, principal=DECK_TOKEN)["statusCode"] == 404


# --- cost ------------------------------------------------------------------------------------------


@pytest.fixture
def round_trips() -> Iterator[list[str]]:
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    events = table().meta.client.meta.events
    events.register("before-call.dynamodb", count)
    yield calls
    events.unregister("before-call.dynamodb", count)


def test_negotiate_costs_four_round_trips_whatever_the_number_of_saves(
    lambda_context: Any, round_trips: list[str]
) -> None:
    saves = [save_record(i + 1, slot=f"s{i}", synced_by=DECK) for i in range(25)]
    stored_saves(saves)
    round_trips.clear()

    manifest = [entry(slot=s.slot, content_hash=s.content_hash, updated_at=s.updated_at) for s in saves]
    answer = plan(lambda_context, DECK, manifest)

    assert answer["total_no_op"] == 25
    assert sorted(round_trips) == ["GetItem", "Query", "Query", "TransactWriteItems"]
