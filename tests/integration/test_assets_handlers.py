"""The save and state functions: events in, API Gateway responses out (moto in-process)."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cloudsaves.aws import table
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.models.roms import RomUpsert
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.services.roms import upsert_rom
from cloudsaves.settings import get_settings
from tests.assets_support import multipart
from tests.conftest import (
    ROOT,
    TEST_BUCKET,
    api_event,
    load_event,
    load_function,
    make_principal,
    response_json,
)

USER = make_principal(user_id=1001, username="alice")
OTHER = make_principal(user_id=2002, username="bob")
NO_SCOPES = make_principal(user_id=1001, scopes=frozenset())
EVENT_DEVICE = "3f1c2a4e-8d7b-4b2a-9c1e-5a6b7c8d9e0f"  # the device named in events/*/*.json
EVENT_SAVE_ID, EVENT_STATE_ID = 126743562014720, 126743562016001

# (function, method, path template, route scope) for every save/state function
ROUTES = [
    ("upload_save", "POST", "/api/saves", "assets.write"),
    ("list_saves", "GET", "/api/saves", "assets.read"),
    ("list_save_identifiers", "GET", "/api/saves/identifiers", "assets.read"),
    ("get_saves_summary", "GET", "/api/saves/summary", "assets.read"),
    ("get_save", "GET", "/api/saves/{id}", "assets.read"),
    ("download_save", "GET", "/api/saves/{id}/content", "assets.read"),
    ("download_save_screenshot", "GET", "/api/saves/{id}/screenshot", "assets.read"),
    ("update_save", "PUT", "/api/saves/{id}", "assets.write"),
    ("set_save_visibility", "PUT", "/api/saves/{id}/visibility", "assets.write"),
    ("delete_saves", "POST", "/api/saves/delete", "assets.write"),
    ("confirm_save_download", "POST", "/api/saves/{id}/downloaded", "devices.write"),
    ("track_save", "POST", "/api/saves/{id}/track", "devices.write"),
    ("untrack_save", "POST", "/api/saves/{id}/untrack", "devices.write"),
    ("upload_state", "POST", "/api/states", "assets.write"),
    ("list_states", "GET", "/api/states", "assets.read"),
    ("list_state_identifiers", "GET", "/api/states/identifiers", "assets.read"),
    ("get_state", "GET", "/api/states/{id}", "assets.read"),
    ("download_state", "GET", "/api/states/{id}/content", "assets.read"),
    ("download_state_screenshot", "GET", "/api/states/{id}/screenshot", "assets.read"),
    ("update_state", "PUT", "/api/states/{id}", "assets.write"),
    ("set_state_visibility", "PUT", "/api/states/{id}/visibility", "assets.write"),
    ("delete_states", "POST", "/api/states/delete", "assets.write"),
]
# A minimal valid request per function, so 401/403/404 are about identity and ownership alone.
VALID_INPUT: dict[str, dict[str, Any]] = {
    "upload_save": {"query": {"rom_id": "10"}},
    "upload_state": {"query": {"rom_id": "10"}},
    "get_saves_summary": {"query": {"rom_id": "10"}},
    "set_save_visibility": {"body": {"is_public": True}},
    "set_state_visibility": {"body": {"is_public": True}},
    "delete_saves": {"body": {"saves": [123]}},
    "delete_states": {"body": {"states": [123]}},
    "confirm_save_download": {"body": {"device_id": EVENT_DEVICE}},
    "track_save": {"body": {"device_id": EVENT_DEVICE}},
    "untrack_save": {"body": {"device_id": EVENT_DEVICE}},
}


@pytest.fixture
def seeded(aws: None) -> None:
    upsert_rom(
        10,
        RomUpsert(
            name="Emerald", fs_name="emerald.gba", platform_id=1, platform_slug="gba", platform_fs_slug="gba"
        ),
    )
    now = "2025-03-01T12:00:00.000000+00:00"
    DevicesRepository(table()).create(
        DeviceRecord(id=EVENT_DEVICE, user_id=USER.user_id, name="Deck", created_at=now, updated_at=now)
    )


@functools.cache
def function(name: str) -> ModuleType:
    return load_function(name)


def invoke(name: str, event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    return function(name).lambda_handler(event, lambda_context)


def call(
    name: str,
    method: str,
    path: str,
    lambda_context: Any,
    *,
    principal=USER,
    route: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    return invoke(name, api_event(method, path, route=route, principal=principal, **kwargs), lambda_context)


def upload(
    lambda_context: Any, data: bytes = b"save", name: str = "emerald.srm", *, principal=USER, **query: str
) -> dict[str, Any]:
    body, content_type = multipart({"saveFile": (name, data)})
    response = call(
        "upload_save",
        "POST",
        "/api/saves",
        lambda_context,
        principal=principal,
        query={"rom_id": "10", **query},
        body=body,
        headers={"content-type": content_type},
    )
    return response


def concrete(path: str, asset_id: int) -> str:
    return path.replace("{id}", str(asset_id))


# --- every route: 401, 403, 404 ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method", "path", "scope"), ROUTES)
def test_route_without_credentials_is_401(name, method, path, scope, lambda_context) -> None:
    response = call(
        name, method, concrete(path, 123), lambda_context, principal=None, **VALID_INPUT.get(name, {})
    )
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == "Bearer"
    assert "detail" in response_json(response)


@pytest.mark.parametrize(("name", "method", "path", "scope"), ROUTES)
def test_route_without_its_scope_is_403(name, method, path, scope, lambda_context) -> None:
    others = frozenset({"assets.read", "assets.write", "devices.read", "devices.write"} - {scope})
    principal = make_principal(user_id=USER.user_id, scopes=others)
    response = call(
        name, method, concrete(path, 123), lambda_context, principal=principal, **VALID_INPUT.get(name, {})
    )
    assert response["statusCode"] == 403


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("name", "method", "path", "scope"), [r for r in ROUTES if "{id}" in r[2] or "delete" in r[0]]
)
def test_route_on_another_users_asset_is_404(name, method, path, scope, lambda_context) -> None:
    kind = "state" if "state" in name else "save"
    if kind == "save":
        owned = response_json(upload(lambda_context, principal=OTHER))
    else:
        body, content_type = multipart({"stateFile": ("s.state", b"s")})
        owned = response_json(
            call(
                "upload_state",
                "POST",
                "/api/states",
                lambda_context,
                principal=OTHER,
                query={"rom_id": "10"},
                body=body,
                headers={"content-type": content_type},
            )
        )
    request = dict(VALID_INPUT.get(name, {}))
    if name.startswith("delete"):
        request = {"body": {f"{kind}s": [owned["id"]]}}
    if name.startswith("update"):
        body, content_type = multipart({f"{kind}File": ("x", b"x")})
        request = {"body": body, "headers": {"content-type": content_type}}
    response = call(name, method, concrete(path, owned["id"]), lambda_context, **request)
    assert response["statusCode"] == 404
    assert "not found" in response_json(response)["detail"]


@pytest.mark.parametrize(
    ("name", "method", "path"),
    [(n, m, p) for n, m, p, _ in ROUTES if "{id}" in p],
)
@pytest.mark.parametrize("bad_id", ["abc", "0", str(2**53)])
def test_route_with_a_bad_id_is_422(name, method, path, bad_id, lambda_context) -> None:
    response = call(name, method, concrete(path, bad_id), lambda_context, **VALID_INPUT.get(name, {}))  # type: ignore[arg-type]
    assert response["statusCode"] == 422
    assert isinstance(response_json(response)["detail"], list)


# --- the committed events ------------------------------------------------------------------------


def test_event_files_exist_for_every_function() -> None:
    for name, *_ in ROUTES:
        assert list(Path(ROOT, "events", name).glob("*.json")), name


@pytest.mark.usefixtures("seeded")
def test_upload_event_creates_a_save_with_device_syncs(lambda_context) -> None:
    response = invoke("upload_save", load_event("upload_save/slot_with_device.json"), lambda_context)
    body = response_json(response)
    assert response["statusCode"] == 200
    assert (
        body["slot"] == "autosave" and body["emulator"] == "mgba" and body["origin_device_id"] == EVENT_DEVICE
    )
    assert (
        body["file_name"].startswith("Pokemon - Emerald Version (USA) [") and body["screenshot"]["file_name"]
    )
    assert [s["device_id"] for s in body["device_syncs"]] == [EVENT_DEVICE]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "event_file",
    [
        "list_saves/by_rom_with_device.json",
        "list_states/by_platform.json",
        "list_save_identifiers/all.json",
        "list_state_identifiers/all.json",
        "get_saves_summary/by_rom.json",
    ],
)
def test_read_events_answer_200(event_file: str, lambda_context) -> None:
    response = invoke(event_file.split("/")[0], load_event(event_file), lambda_context)
    assert response["statusCode"] == 200


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "event_file",
    [
        "get_save/with_device.json",
        "download_save/optimistic.json",
        "update_save/content_with_device.json",
        "set_save_visibility/make_public.json",
        "confirm_save_download/device.json",
        "track_save/device.json",
        "untrack_save/device.json",
        "delete_saves/two_ids.json",
        "get_state/one.json",
        "download_state/one.json",
        "update_state/screenshot_only.json",
        "download_save_screenshot/owner.json",
        "download_state_screenshot/owner.json",
        "set_state_visibility/make_private.json",
        "delete_states/one_id.json",
    ],
)
def test_id_events_answer_404_for_unknown_ids(event_file: str, lambda_context) -> None:
    response = invoke(event_file.split("/")[0], load_event(event_file), lambda_context)
    assert response["statusCode"] == 404


# --- handler behaviour ---------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_upload_then_download_returns_the_bytes_as_the_file(lambda_context) -> None:
    saved = response_json(upload(lambda_context, b"\x00\xffbinary", "Émeraude.srm"))
    response = call(
        "download_save",
        "GET",
        f"/api/saves/{saved['id']}/content",
        lambda_context,
        query={"timestamp": saved["updated_at"]},
    )
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x00\xffbinary"
    assert "filename*=UTF-8''%C3%89meraude.srm" in response["headers"]["Content-Disposition"]


@pytest.mark.usefixtures("seeded")
def test_download_too_big_for_lambda_redirects(monkeypatch: pytest.MonkeyPatch, lambda_context) -> None:
    saved = response_json(upload(lambda_context, b"x" * 64))
    monkeypatch.setenv("MAX_INLINE_DOWNLOAD_BYTES", "16")
    get_settings.cache_clear()
    response = call("download_save", "GET", f"/api/saves/{saved['id']}/content", lambda_context)
    assert response["statusCode"] == 302
    assert TEST_BUCKET in response["headers"]["Location"]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("query", "body", "content_type", "status"),
    [
        ({"rom_id": "abc"}, b"", "multipart/form-data; boundary=x", 422),
        ({}, b"", "multipart/form-data; boundary=x", 422),
        ({"rom_id": "10", "autocleanup_limit": "x"}, b"", "multipart/form-data; boundary=x", 422),
        ({"rom_id": "10"}, b"--x\r\ngarbage", "multipart/form-data; boundary=x", 400),
        ({"rom_id": "10"}, b"{}", "application/json", 400),
        ({"rom_id": "10"}, b"", "multipart/form-data; boundary=x", 400),
        ({"rom_id": "999"}, None, None, 404),
    ],
)
def test_upload_bad_requests(query, body, content_type, status, lambda_context) -> None:
    if body is None:
        body, content_type = multipart({"saveFile": ("a.srm", b"a")})
    response = call(
        "upload_save",
        "POST",
        "/api/saves",
        lambda_context,
        query=query,
        body=body,
        headers={"content-type": content_type},
    )
    assert response["statusCode"] == status
    assert "detail" in response_json(response)


@pytest.mark.usefixtures("seeded")
def test_upload_oversized_body_is_413(monkeypatch: pytest.MonkeyPatch, lambda_context) -> None:
    monkeypatch.setenv("MAX_INLINE_UPLOAD_BYTES", "100")
    get_settings.cache_clear()
    response = upload(lambda_context, b"x" * 500)
    assert response["statusCode"] == 413
    assert "/api/saves/uploads" in response_json(response)["detail"]


@pytest.mark.usefixtures("seeded")
def test_upload_race_detail_is_romms_text(lambda_context) -> None:
    upload(lambda_context, b"one", slot="auto")
    response = upload(lambda_context, b"two", slot="auto", device_id=EVENT_DEVICE)
    assert response["statusCode"] == 409
    assert response_json(response) == {"detail": "Slot has a newer save since your last sync"}


@pytest.mark.usefixtures("seeded")
def test_list_pages_with_limit_and_cursor_header(lambda_context) -> None:
    ids = [response_json(upload(lambda_context, bytes([i]), f"{i}.srm"))["id"] for i in range(3)]
    first = call("list_saves", "GET", "/api/saves", lambda_context, query={"limit": "2"})
    cursor = first["headers"]["X-Next-Cursor"]
    second = call("list_saves", "GET", "/api/saves", lambda_context, query={"limit": "2", "cursor": cursor})
    assert [s["id"] for s in response_json(first) + response_json(second)] == list(reversed(ids))
    assert "X-Next-Cursor" not in (second.get("headers") or {})
    identifiers = call("list_save_identifiers", "GET", "/api/saves/identifiers", lambda_context)
    assert response_json(identifiers) == list(reversed(ids))


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "99999999999999999999", "x"])
def test_list_rejects_bad_limits(limit: str, lambda_context) -> None:
    for name, path in (
        ("list_saves", "/api/saves"),
        ("list_states", "/api/states"),
        ("list_save_identifiers", "/api/saves/identifiers"),
    ):
        assert call(name, "GET", path, lambda_context, query={"limit": limit})["statusCode"] == 422


def test_list_rejects_a_malformed_cursor(lambda_context) -> None:
    response = call("list_saves", "GET", "/api/saves", lambda_context, query={"cursor": "%%%"})
    assert response["statusCode"] == 400


@pytest.mark.usefixtures("seeded")
def test_summary_needs_rom_id(lambda_context) -> None:
    assert call("get_saves_summary", "GET", "/api/saves/summary", lambda_context)["statusCode"] == 422
    upload(lambda_context, b"a", slot="one")
    body = response_json(
        call("get_saves_summary", "GET", "/api/saves/summary", lambda_context, query={"rom_id": "10"})
    )
    assert body["total_count"] == 1 and body["slots"][0]["slot"] == "one"


@pytest.mark.parametrize(
    ("name", "path", "body"),
    [
        ("delete_saves", "/api/saves/delete", {"saves": "1"}),
        ("delete_saves", "/api/saves/delete", {"saves": ["x"]}),
        ("delete_saves", "/api/saves/delete", {"ids": [1]}),
        ("delete_saves", "/api/saves/delete", "not json"),
        ("delete_states", "/api/states/delete", {"saves": [1]}),
    ],
)
def test_delete_rejects_wrong_bodies(name: str, path: str, body: Any, lambda_context) -> None:
    response = call(
        name, "POST", path, lambda_context, body=body, headers={"content-type": "application/json"}
    )
    assert response["statusCode"] == 422


def test_delete_too_many_ids_is_400(lambda_context) -> None:
    response = call(
        "delete_saves", "POST", "/api/saves/delete", lambda_context, body={"saves": list(range(1, 102))}
    )
    assert response["statusCode"] == 400
    assert (
        call("delete_saves", "POST", "/api/saves/delete", lambda_context, body={"saves": []})["statusCode"]
        == 400
    )


@pytest.mark.usefixtures("seeded")
def test_visibility_and_public_download_by_another_user(lambda_context) -> None:
    saved = response_json(upload(lambda_context, b"shared"))
    path = f"/api/saves/{saved['id']}"
    assert (
        call("download_save", "GET", f"{path}/content", lambda_context, principal=OTHER)["statusCode"] == 404
    )
    public = call(
        "set_save_visibility", "PUT", f"{path}/visibility", lambda_context, body={"is_public": True}
    )
    assert response_json(public)["is_public"] is True
    response = call("download_save", "GET", f"{path}/content", lambda_context, principal=OTHER)
    assert base64.b64decode(response["body"]) == b"shared"
    assert call("get_save", "GET", path, lambda_context, principal=OTHER)["statusCode"] == 404
    bad = call(
        "set_save_visibility", "PUT", f"{path}/visibility", lambda_context, body={"is_public": "maybe"}
    )
    assert bad["statusCode"] == 422


@pytest.mark.usefixtures("seeded")
def test_put_with_stale_device_is_409_until_overwrite(lambda_context) -> None:
    saved = response_json(upload(lambda_context, b"one", device_id=EVENT_DEVICE))
    upload(lambda_context, b"two")  # no device: the Deck's record is now out of date
    body, content_type = multipart({"saveFile": ("x.srm", b"three")})
    headers = {"content-type": content_type}
    path = f"/api/saves/{saved['id']}"
    stale = call(
        "update_save",
        "PUT",
        path,
        lambda_context,
        query={"device_id": EVENT_DEVICE},
        body=body,
        headers=headers,
    )
    assert stale["statusCode"] == 409
    assert response_json(stale) == {"detail": "Save has been updated since your last sync"}
    forced = call(
        "update_save",
        "PUT",
        path,
        lambda_context,
        query={"device_id": EVENT_DEVICE, "overwrite": "true"},
        body=body,
        headers=headers,
    )
    assert response_json(forced)["content_hash"] == hashlib.md5(b"three").hexdigest()


@pytest.mark.usefixtures("seeded")
def test_device_routes_need_a_known_device(lambda_context) -> None:
    saved = response_json(upload(lambda_context, b"one"))
    path = f"/api/saves/{saved['id']}"
    for name, suffix in (
        ("confirm_save_download", "downloaded"),
        ("track_save", "track"),
        ("untrack_save", "untrack"),
    ):
        unknown = call(name, "POST", f"{path}/{suffix}", lambda_context, body={"device_id": "nope"})
        assert unknown["statusCode"] == 404
        assert call(name, "POST", f"{path}/{suffix}", lambda_context, body={})["statusCode"] == 422
    untracked = response_json(
        call("untrack_save", "POST", f"{path}/untrack", lambda_context, body={"device_id": EVENT_DEVICE})
    )
    assert untracked["device_syncs"][0]["is_untracked"] is True
    confirmed = response_json(
        call(
            "confirm_save_download",
            "POST",
            f"{path}/downloaded",
            lambda_context,
            body={"device_id": EVENT_DEVICE},
        )
    )
    assert confirmed["device_syncs"][0] == {
        "device_id": EVENT_DEVICE,
        "device_name": "Deck",
        "last_synced_at": saved["updated_at"],
        "is_untracked": False,
        "is_current": True,
    }


@pytest.mark.usefixtures("seeded")
def test_states_round_trip(lambda_context) -> None:
    body, content_type = multipart({"stateFile": ("e.ss1", b"state"), "screenshotFile": ("e.png", b"png")})
    created = call(
        "upload_state",
        "POST",
        "/api/states",
        lambda_context,
        query={"rom_id": "10", "emulator": "mgba"},
        body=body,
        headers={"content-type": content_type},
    )
    state = response_json(created)
    assert created["statusCode"] == 200
    assert state["content_hash"] == hashlib.md5(b"state").hexdigest() and "slot" not in state
    assert state["screenshot"]["file_name"] == "e.png"
    listed = response_json(call("list_states", "GET", "/api/states", lambda_context, query={"rom_id": "10"}))
    assert [s["id"] for s in listed] == [state["id"]]
    missing = multipart({"saveFile": ("e.ss1", b"state")})
    wrong_part = call(
        "upload_state",
        "POST",
        "/api/states",
        lambda_context,
        query={"rom_id": "10"},
        body=missing[0],
        headers={"content-type": missing[1]},
    )
    assert response_json(wrong_part) == {"detail": "No state file provided"}
    deleted = call(
        "delete_states", "POST", "/api/states/delete", lambda_context, body={"states": [state["id"]]}
    )
    assert response_json(deleted) == [state["id"]]
    assert json.loads(call("get_state", "GET", f"/api/states/{state['id']}", lambda_context)["body"])[
        "detail"
    ]


@pytest.mark.usefixtures("seeded")
def test_upload_publishes_business_metrics(lambda_context, capsys) -> None:
    first = invoke("upload_save", load_event("upload_save/slot_with_device.json"), lambda_context)
    assert first["statusCode"] == 200
    emitted = capsys.readouterr().out
    assert '"SaveUploads"' in emitted and '"UploadedBytes"' in emitted
    # The same device again, with the same bytes: it is current, so this is a dedup answer.
    invoke("upload_save", load_event("upload_save/slot_with_device.json"), lambda_context)
    assert '"DeduplicatedUploads"' in capsys.readouterr().out
