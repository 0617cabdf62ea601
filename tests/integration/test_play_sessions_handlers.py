"""The play-session functions against moto: RomM 5.2's ingest, list and delete rules."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from cloudsaves import clock
from cloudsaves.aws import table
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.models.roms import RomUpsert
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.services.roms import upsert_rom
from tests.conftest import api_event, load_event, load_function, make_principal, response_json

USER = make_principal(user_id=1001, username="alice")
OTHER = make_principal(user_id=2002, username="bob")
DECK, SWITCH = "3f1c2a4e-8d7b-4b2a-9c1e-5a6b7c8d9e0f", "7a0d5a4e-2f61-4d8e-9a55-2b0f3c9d1e77"
BOBS = "0b0b0b0b-0000-4000-8000-000000000000"
DECK_TOKEN = make_principal(user_id=1001, username="alice", device_id=DECK)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CREATED = "2025-03-01T00:00:00.000000+00:00"


@pytest.fixture(autouse=True)
def seeded(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    upsert_rom(
        10,
        RomUpsert(
            name="Emerald", fs_name="emerald.gba", platform_id=1, platform_slug="gba", platform_fs_slug="gba"
        ),
    )
    repo = DevicesRepository(table())
    for device_id, user_id in ((DECK, 1001), (SWITCH, 1001), (BOBS, 2002)):
        repo.create(
            DeviceRecord(id=device_id, user_id=user_id, name="d", created_at=CREATED, updated_at=CREATED)
        )


@functools.cache
def function(name: str) -> ModuleType:
    return load_function(name)


def played(
    hours_ago: float = 1, *, minutes: int = 30, rom_id: int | None = 10, **extra: Any
) -> dict[str, Any]:
    start = NOW - timedelta(hours=hours_ago)
    return {
        "rom_id": rom_id,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=minutes)).isoformat(),
        "duration_ms": minutes * 60_000,
        **extra,
    }


def ingest(ctx: Any, sessions: list[dict[str, Any]], *, principal=USER, **body: Any) -> dict[str, Any]:
    event = api_event("POST", "/api/play-sessions", principal=principal, body={"sessions": sessions, **body})
    return function("ingest_play_sessions").lambda_handler(event, ctx)


def listed(ctx: Any, *, principal=USER, **query: str) -> list[dict[str, Any]]:
    event = api_event("GET", "/api/play-sessions", principal=principal, query=query)
    response = function("list_play_sessions").lambda_handler(event, ctx)
    assert response["statusCode"] == 200, response
    return response_json(response)


def delete(ctx: Any, session_id: int, *, principal=USER) -> dict[str, Any]:
    event = api_event(
        "DELETE",
        f"/api/play-sessions/{session_id}",
        route="/api/play-sessions/{session_id}",
        principal=principal,
        path_params={"session_id": str(session_id)},
    )
    return function("delete_play_session").lambda_handler(event, ctx)


# --- ingest ----------------------------------------------------------------------------------------


def test_play_sessions_ingest_sample_event(lambda_context: Any) -> None:
    response = function("ingest_play_sessions").lambda_handler(
        load_event("ingest_play_sessions/batch.json"), lambda_context
    )

    assert response["statusCode"] == 201
    assert response_json(response)["created_count"] == 2


def test_play_sessions_ingest_creates_with_ids_and_201(lambda_context: Any) -> None:
    response = ingest(lambda_context, [played(h) for h in (1, 2, 3)], device_id=DECK)

    assert response["statusCode"] == 201
    body = response_json(response)
    assert (body["created_count"], body["skipped_count"]) == (3, 0)
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert all(r["status"] == "created" and r["id"] for r in body["results"])


def test_play_sessions_ingest_skips_duplicates_across_and_within_batches(lambda_context: Any) -> None:
    ingest(lambda_context, [played(2)], device_id=DECK)

    body = response_json(ingest(lambda_context, [played(2), played(3), played(3)], device_id=DECK))

    assert [r["status"] for r in body["results"]] == ["duplicate", "created", "duplicate"]
    assert (body["created_count"], body["skipped_count"]) == (1, 2)


def test_play_sessions_same_start_on_another_device_or_user_is_not_a_duplicate(lambda_context: Any) -> None:
    ingest(lambda_context, [played(2)], device_id=DECK)

    other_device = response_json(ingest(lambda_context, [played(2)], device_id=SWITCH))
    other_user = response_json(ingest(lambda_context, [played(2)], principal=OTHER))

    assert other_device["created_count"] == 1 and other_user["created_count"] == 1


def test_play_sessions_future_end_is_an_error_entry_counted_as_skipped(lambda_context: Any) -> None:
    response = ingest(lambda_context, [played(0.05, minutes=10), played(0.05, minutes=1)])

    body = response_json(response)
    assert response["statusCode"] == 201
    assert body["results"][0] == {
        "index": 0,
        "status": "error",
        "id": None,
        "detail": "end_time is too far in the future",
    }
    assert (body["created_count"], body["skipped_count"]) == (1, 1)


@pytest.mark.parametrize(
    ("sessions", "detail"),
    [([], "Payload must contain at least one session"), ([played(i) for i in range(1, 102)], None)],
)
def test_play_sessions_batch_bounds_are_400(lambda_context: Any, sessions: list, detail: str | None) -> None:
    response = ingest(lambda_context, sessions)

    assert response["statusCode"] == 400
    assert response_json(response)["detail"] == (detail or "Batch size exceeds maximum of 100")


@pytest.mark.parametrize(
    "entry",
    [
        {"start_time": "2025-03-01T10:00:00Z", "end_time": "2025-03-01T09:00:00Z", "duration_ms": 1},
        # microseconds are dropped first: this ends "at" its start
        {"start_time": "2025-03-01T10:00:00.200Z", "end_time": "2025-03-01T10:00:00.900Z", "duration_ms": 1},
        {"start_time": "2025-03-01T10:00:00Z", "end_time": "2025-03-01T11:00:00Z", "duration_ms": -1},
        {"start_time": "not a time", "end_time": "2025-03-01T11:00:00Z", "duration_ms": 1},
    ],
)
def test_play_sessions_invalid_entry_is_422(lambda_context: Any, entry: dict[str, Any]) -> None:
    response = ingest(lambda_context, [entry])

    assert response["statusCode"] == 422
    assert isinstance(response_json(response)["detail"], list)


def test_play_sessions_unknown_rom_and_foreign_device_are_stored_as_null(lambda_context: Any) -> None:
    body = response_json(
        ingest(lambda_context, [played(1, rom_id=999), played(2, rom_id=None)], device_id=BOBS)
    )

    assert body["created_count"] == 2
    assert [(p["rom_id"], p["device_id"]) for p in listed(lambda_context)] == [(None, None), (None, None)]


def test_play_sessions_device_bound_token_attaches_its_device(lambda_context: Any) -> None:
    ingest(lambda_context, [played(1)], principal=DECK_TOKEN)

    assert [p["device_id"] for p in listed(lambda_context)] == [DECK]


def test_play_sessions_ingest_moves_the_devices_last_seen(lambda_context: Any) -> None:
    ingest(lambda_context, [played(1)], device_id=SWITCH)

    device = DevicesRepository(table()).get(1001, SWITCH)
    assert device is not None and device.last_seen == clock.iso(NOW)


# --- list ------------------------------------------------------------------------------------------


def test_play_sessions_list_newest_start_first_with_romm_fields(lambda_context: Any) -> None:
    ingest(lambda_context, [played(3), played(1, save_slot="autosave"), played(2)], device_id=DECK)

    sessions = listed(lambda_context)

    assert [p["start_time"] for p in sessions] == [
        (NOW - timedelta(hours=h)).isoformat(timespec="microseconds") for h in (1, 2, 3)
    ]
    assert set(sessions[0]) == {
        "id",
        "user_id",
        "device_id",
        "rom_id",
        "save_slot",
        "start_time",
        "end_time",
        "duration_ms",
        "created_at",
        "updated_at",
    }
    assert sessions[0]["save_slot"] == "autosave"


def test_play_sessions_list_filters_and_paging(lambda_context: Any) -> None:
    ingest(lambda_context, [played(h) for h in range(1, 6)], device_id=DECK)
    ingest(lambda_context, [played(0.5, rom_id=999)], device_id=SWITCH)

    def hours(**query: str) -> list[float]:
        return [
            (NOW - datetime.fromisoformat(p["start_time"])) / timedelta(hours=1)
            for p in listed(lambda_context, **query)
        ]

    assert hours(rom_id="10") == [1, 2, 3, 4, 5]
    assert hours(device_id=SWITCH) == [0.5]
    assert hours(limit="2", offset="1") == [1, 2]
    # start_after and end_before both bound start_time (inclusive); a time filter lifts `limit`
    window = {
        "start_after": (NOW - timedelta(hours=4)).isoformat(),
        "end_before": (NOW - timedelta(hours=2)).isoformat(),
    }
    assert hours(**window) == [2, 3, 4]
    assert hours(**window, limit="1") == [2, 3, 4]
    assert hours(**window, limit="1", offset="1") == [3, 4]


def test_play_sessions_list_of_a_device_bound_token_is_its_device(lambda_context: Any) -> None:
    ingest(lambda_context, [played(1)], device_id=DECK)
    ingest(lambda_context, [played(2)], device_id=SWITCH)

    assert [p["device_id"] for p in listed(lambda_context, principal=DECK_TOKEN)] == [DECK]
    assert [p["device_id"] for p in listed(lambda_context, principal=OTHER)] == []


def test_play_sessions_list_sample_event(lambda_context: Any) -> None:
    ingest(lambda_context, [played(1)])

    response = function("list_play_sessions").lambda_handler(
        load_event("list_play_sessions/by_rom.json"), lambda_context
    )

    assert response["statusCode"] == 200 and len(response_json(response)) == 1


# --- delete ----------------------------------------------------------------------------------------


def test_play_sessions_delete_is_204_then_404_and_frees_the_duplicate_key(lambda_context: Any) -> None:
    created = response_json(ingest(lambda_context, [played(1)]))["results"][0]["id"]

    first, second = delete(lambda_context, created), delete(lambda_context, created)

    assert first["statusCode"] == 204
    assert (second["statusCode"], response_json(second)["detail"]) == (
        404,
        f"Play session {created} not found",
    )
    assert response_json(ingest(lambda_context, [played(1)]))["created_count"] == 1


def test_play_sessions_delete_of_another_users_session_is_404(lambda_context: Any) -> None:
    created = response_json(ingest(lambda_context, [played(1)]))["results"][0]["id"]

    response = delete(lambda_context, created, principal=OTHER)

    assert response["statusCode"] == 404
    assert len(listed(lambda_context)) == 1


def test_play_sessions_delete_sample_event(lambda_context: Any) -> None:
    response = function("delete_play_session").lambda_handler(
        load_event("delete_play_session/unknown_session.json"), lambda_context
    )

    assert response["statusCode"] == 404


# --- scopes ----------------------------------------------------------------------------------------


def test_play_sessions_need_roms_user_scopes(lambda_context: Any) -> None:
    reader = make_principal(user_id=1001, scopes=frozenset({"roms.user.read"}))
    writer = make_principal(user_id=1001, scopes=frozenset({"roms.user.write"}))

    assert ingest(lambda_context, [played(1)], principal=reader)["statusCode"] == 403
    assert delete(lambda_context, 1, principal=reader)["statusCode"] == 403
    event = api_event("GET", "/api/play-sessions", principal=writer)
    assert function("list_play_sessions").lambda_handler(event, lambda_context)["statusCode"] == 403
    assert ingest(lambda_context, [played(1)], principal=None)["statusCode"] == 401
