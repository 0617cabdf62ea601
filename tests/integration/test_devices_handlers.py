"""The five /api/devices handlers → services → moto DynamoDB."""

from __future__ import annotations

import json
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from cloudsaves.aws import table
from cloudsaves.http import Principal
from cloudsaves.repositories.devices import DevicesRepository
from tests.conftest import api_event, load_event, load_function, make_principal, response_json
from tests.devices_support import put_save, syncs_of

pytestmark = pytest.mark.usefixtures("aws")

ALICE = make_principal(user_id=1001, username="alice")
BOB = make_principal(user_id=2002, username="bob")
READ_ONLY = make_principal(user_id=1001, username="alice", scopes=frozenset({"devices.read"}))


@cache
def _module(function_dir: str) -> ModuleType:
    return load_function(function_dir)


def _call(function_dir: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _module(function_dir).lambda_handler(event, context)


def _create(context: Any, body: dict[str, Any] | str, principal: Principal = ALICE) -> dict[str, Any]:
    return _call("create_device", api_event("POST", "/api/devices", principal=principal, body=body), context)


def _device_event(method: str, device_id: str, principal: Principal | None = ALICE, body: Any = None) -> dict:
    return api_event(
        method,
        f"/api/devices/{device_id}",
        route="/api/devices/{device_id}",
        principal=principal,
        body=body,
        path_params={"device_id": device_id},
    )


def _get(context: Any, device_id: str, principal: Principal = ALICE) -> dict[str, Any]:
    return _call("get_device", _device_event("GET", device_id, principal), context)


SYNC = {"last_synced_at": "2025-02-01T00:00:00.000000+00:00", "is_untracked": False}


# --- POST /api/devices --------------------------------------------------------------------------


def test_create_device_returns_201_and_stores_defaults(lambda_context: Any) -> None:
    response = _create(lambda_context, {"name": "Steam Deck", "platform": "linux", "client": "argosy"})

    assert response["statusCode"] == 201
    created = response_json(response)
    assert set(created) == {"device_id", "name", "created_at"}
    assert created["name"] == "Steam Deck"
    device = response_json(_get(lambda_context, created["device_id"]))
    assert device["sync_mode"] == "api"
    assert device["sync_enabled"] is True
    assert device["last_seen"] == device["created_at"] == created["created_at"]
    assert device["user_id"] == ALICE.user_id


def test_create_device_from_the_sample_event(lambda_context: Any) -> None:
    response = _call("create_device", load_event("create_device/new_device.json"), lambda_context)

    assert response["statusCode"] in (200, 201)
    assert response_json(response)["name"] == "Steam Deck"


def test_create_device_matching_mac_returns_existing_with_200(lambda_context: Any) -> None:
    first = response_json(_create(lambda_context, {"name": "Deck", "mac_address": "AA:BB:CC:DD:EE:FF"}))

    response = _create(lambda_context, {"name": "Renamed", "mac_address": "aa:bb:cc:dd:ee:ff"})

    assert response["statusCode"] == 200
    assert response_json(response) == first


def test_create_device_matching_hostname_and_platform_returns_existing(lambda_context: Any) -> None:
    first = response_json(_create(lambda_context, {"hostname": "deck", "platform": "linux"}))

    same = _create(lambda_context, {"hostname": "deck", "platform": "linux"})
    other_platform = _create(lambda_context, {"hostname": "deck", "platform": "windows"})
    hostname_only = _create(lambda_context, {"hostname": "deck"})

    assert (same["statusCode"], response_json(same)["device_id"]) == (200, first["device_id"])
    assert other_platform["statusCode"] == 201
    assert hostname_only["statusCode"] == 201


def test_create_device_does_not_match_another_users_device(lambda_context: Any) -> None:
    _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"}, principal=BOB)

    response = _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"})

    assert response["statusCode"] == 201


def test_create_device_match_without_allow_existing_is_409(lambda_context: Any) -> None:
    first = response_json(_create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"}))

    response = _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF", "allow_existing": False})

    assert response["statusCode"] == 409
    detail = response_json(response)["detail"]
    assert detail["error"] == "device_exists"
    assert detail["device_id"] == first["device_id"]
    assert detail["message"]


def test_create_device_allow_duplicate_always_creates(lambda_context: Any) -> None:
    first = response_json(_create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"}))

    response = _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF", "allow_duplicate": True})

    assert response["statusCode"] == 201
    assert response_json(response)["device_id"] != first["device_id"]


def test_create_device_reset_syncs_makes_the_matched_devices_records_not_count(lambda_context: Any) -> None:
    first = response_json(_create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"}))["device_id"]
    put_save(1, ALICE.user_id, {first: SYNC, "other": SYNC})
    devices = DevicesRepository(table())

    kept = _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"})
    assert devices.get(ALICE.user_id, first).counts_sync(SYNC["last_synced_at"])  # no reset asked
    reset = _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF", "reset_syncs": True})

    assert kept["statusCode"] == reset["statusCode"] == 200
    assert not devices.get(ALICE.user_id, first).counts_sync(SYNC["last_synced_at"])
    assert set(syncs_of(1)) == {first, "other"}  # one write to the device, none to the saves
    assert "syncs_reset_at" not in response_json(_get(lambda_context, first))  # not in RomM's shape


def test_create_device_match_refreshes_last_seen(lambda_context: Any) -> None:
    first = response_json(_create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"}))["device_id"]
    before = response_json(_get(lambda_context, first))["last_seen"]

    _create(lambda_context, {"mac_address": "AA:BB:CC:DD:EE:FF"})

    assert response_json(_get(lambda_context, first))["last_seen"] > before


@pytest.mark.parametrize(
    "body",
    [
        {"sync_mode": "bluetooth"},
        {"name": "x" * 256},
        {"mac_address": "m" * 65},
        {"sync_config": "not an object"},
        {"sync_config": {"blob": "x" * 20_000}},
        {"allow_existing": "maybe"},
    ],
)
def test_create_device_invalid_body_is_422(lambda_context: Any, body: dict[str, Any]) -> None:
    response = _create(lambda_context, body)

    assert response["statusCode"] == 422
    assert isinstance(response_json(response)["detail"], list)
    assert not table().query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "U#1001"})[
        "Items"
    ]


def test_create_device_malformed_json_is_4xx_with_detail(lambda_context: Any) -> None:
    event = api_event(
        "POST",
        "/api/devices",
        principal=ALICE,
        body='{"name": ',
        headers={"content-type": "application/json"},
    )

    response = _call("create_device", event, lambda_context)

    assert 400 <= response["statusCode"] < 500
    assert "detail" in response_json(response)


def test_create_device_without_devices_write_is_403(lambda_context: Any) -> None:
    response = _create(lambda_context, {"name": "x"}, principal=READ_ONLY)

    assert response["statusCode"] == 403


def test_create_device_unauthenticated_is_401(lambda_context: Any) -> None:
    event = api_event("POST", "/api/devices", principal=None, body={"name": "x"})

    response = _call("create_device", event, lambda_context)

    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == "Bearer"


# --- GET /api/devices and /api/devices/{id} -----------------------------------------------------


def test_list_devices_returns_only_the_callers_devices_with_masked_secrets(lambda_context: Any) -> None:
    config = {"ssh_password": "hunter2", "ssh_key_path": "/home/deck/.ssh/id", "host": "10.0.0.2"}
    mine = response_json(
        _create(lambda_context, {"name": "Deck", "sync_mode": "file_transfer", "sync_config": config})
    )
    _create(lambda_context, {"name": "Bob's"}, principal=BOB)

    response = _call("list_devices", api_event("GET", "/api/devices", principal=READ_ONLY), lambda_context)

    assert response["statusCode"] == 200
    devices = response_json(response)
    assert [d["id"] for d in devices] == [mine["device_id"]]
    assert devices[0]["sync_config"] == {
        "ssh_password": "********",
        "ssh_key_path": "********",
        "host": "10.0.0.2",
    }
    assert devices[0]["sync_mode"] == "file_transfer"
    assert set(devices[0]) == {
        "id",
        "user_id",
        "name",
        "platform",
        "client",
        "client_version",
        "ip_address",
        "mac_address",
        "hostname",
        "client_device_identifier",
        "sync_mode",
        "sync_enabled",
        "sync_config",
        "last_seen",
        "created_at",
        "updated_at",
    }


def test_list_devices_secrets_are_stored_as_given(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"sync_config": {"ssh_password": "hunter2"}}))[
        "device_id"
    ]

    item = table().get_item(Key={"pk": "U#1001", "sk": f"DEVICE#{device_id}"})["Item"]

    assert json.loads(item["sync_config"]) == {"ssh_password": "hunter2"}


def test_list_devices_when_none_is_empty(lambda_context: Any) -> None:
    response = _call("list_devices", api_event("GET", "/api/devices", principal=ALICE), lambda_context)

    assert (response["statusCode"], response_json(response)) == (200, [])


def test_get_device_of_another_user_is_404(lambda_context: Any) -> None:
    bobs = response_json(_create(lambda_context, {"name": "Bob's"}, principal=BOB))["device_id"]

    response = _get(lambda_context, bobs)

    assert response["statusCode"] == 404
    assert "not found" in response_json(response)["detail"]


def test_get_device_with_overlong_id_is_422(lambda_context: Any) -> None:
    assert _get(lambda_context, "x" * 65)["statusCode"] == 422


def test_get_device_without_devices_read_is_403(lambda_context: Any) -> None:
    principal = make_principal(user_id=1001, scopes=frozenset({"assets.read"}))

    assert _get(lambda_context, "anything", principal)["statusCode"] == 403


# --- PUT /api/devices/{id} ----------------------------------------------------------------------


def test_update_device_changes_only_the_named_fields(lambda_context: Any) -> None:
    created = response_json(
        _create(lambda_context, {"name": "Deck", "platform": "linux", "client": "argosy"})
    )
    before = response_json(_get(lambda_context, created["device_id"]))

    response = _call(
        "update_device",
        _device_event("PUT", created["device_id"], body={"client_version": "1.2.3", "sync_enabled": False}),
        lambda_context,
    )

    assert response["statusCode"] == 200
    after = response_json(response)
    assert after["client_version"] == "1.2.3"
    assert after["sync_enabled"] is False
    assert after["updated_at"] > before["updated_at"]
    unchanged = {"name", "platform", "client", "sync_mode", "created_at", "mac_address", "id"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert response_json(_get(lambda_context, created["device_id"])) == after


def test_update_device_null_clears_a_nullable_field(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"name": "Deck", "hostname": "deck"}))["device_id"]

    after = response_json(
        _call("update_device", _device_event("PUT", device_id, body={"hostname": None}), lambda_context)
    )

    assert after["hostname"] is None
    assert after["name"] == "Deck"


def test_update_device_sync_config_is_masked_in_the_answer(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"name": "Deck"}))["device_id"]
    body = {"sync_mode": "push_pull", "sync_config": {"ssh_password": "pw", "port": 22}}

    after = response_json(_call("update_device", _device_event("PUT", device_id, body=body), lambda_context))

    assert after["sync_mode"] == "push_pull"
    assert after["sync_config"] == {"ssh_password": "********", "port": 22}


def test_update_device_empty_body_changes_nothing(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"name": "Deck"}))["device_id"]
    before = response_json(_get(lambda_context, device_id))

    response = _call("update_device", _device_event("PUT", device_id, body={}), lambda_context)

    assert response["statusCode"] == 200
    assert response_json(response) == before


def test_update_device_of_another_user_is_404_and_unchanged(lambda_context: Any) -> None:
    bobs = response_json(_create(lambda_context, {"name": "Bob's"}, principal=BOB))["device_id"]

    response = _call("update_device", _device_event("PUT", bobs, body={"name": "Mine now"}), lambda_context)

    assert response["statusCode"] == 404
    assert response_json(_get(lambda_context, bobs, principal=BOB))["name"] == "Bob's"


def test_update_device_of_unknown_id_does_not_create_it(lambda_context: Any) -> None:
    response = _call("update_device", _device_event("PUT", "ghost", body={"name": "x"}), lambda_context)

    assert response["statusCode"] == 404
    assert _get(lambda_context, "ghost")["statusCode"] == 404


def test_update_device_bad_sync_mode_is_422(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"name": "Deck"}))["device_id"]

    response = _call(
        "update_device", _device_event("PUT", device_id, body={"sync_mode": "ftp"}), lambda_context
    )

    assert response["statusCode"] == 422
    assert response_json(_get(lambda_context, device_id))["sync_mode"] == "api"


# --- DELETE /api/devices/{id} -------------------------------------------------------------------


def test_delete_device_returns_204_and_writes_no_save(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"name": "Deck"}))["device_id"]
    put_save(1, ALICE.user_id, {device_id: SYNC, "other": SYNC})

    response = _call("delete_device", _device_event("DELETE", device_id), lambda_context)

    assert response["statusCode"] == 204
    assert not response.get("body")
    assert _get(lambda_context, device_id)["statusCode"] == 404
    # bounded: the save keeps the record, which nothing shows (ids are never reused; see test_assets_service)
    assert set(syncs_of(1)) == {device_id, "other"}


def test_delete_device_of_another_user_is_404_and_keeps_it(lambda_context: Any) -> None:
    bobs = response_json(_create(lambda_context, {"name": "Bob's"}, principal=BOB))["device_id"]

    response = _call("delete_device", _device_event("DELETE", bobs), lambda_context)

    assert response["statusCode"] == 404
    assert _get(lambda_context, bobs, principal=BOB)["statusCode"] == 200


def test_delete_device_without_devices_write_is_403(lambda_context: Any) -> None:
    device_id = response_json(_create(lambda_context, {"name": "Deck"}))["device_id"]

    response = _call("delete_device", _device_event("DELETE", device_id, principal=READ_ONLY), lambda_context)

    assert response["statusCode"] == 403
    assert _get(lambda_context, device_id)["statusCode"] == 200


@pytest.mark.parametrize("function_dir", ["get_device", "update_device", "delete_device"])
def test_device_routes_sample_events_parse(lambda_context: Any, function_dir: str) -> None:
    event = load_event(f"{function_dir}/unknown_device.json")

    response = _call(function_dir, event, lambda_context)

    assert response["statusCode"] == 404
