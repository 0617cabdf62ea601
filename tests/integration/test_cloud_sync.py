"""The RetroArch Cloud Sync door: function URL events in, WebDAV answers out (moto in-process)."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from types import ModuleType
from typing import Any

import pytest

from cloudsaves import storage
from cloudsaves.auth.scopes import Role
from cloudsaves.aws import table
from cloudsaves.hashing import content_hash, md5_hex
from cloudsaves.models.assets import SaveRecord, StoredFile, UploadParams
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.models.roms import RomUpsert
from cloudsaves.models.users import ClientTokenCreate, UserCreate
from cloudsaves.repositories.assets import AssetsRepository
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.repositories.roms import RomsRepository
from cloudsaves.services import asset_changes, asset_uploads
from cloudsaves.services.client_tokens import create_client_token
from cloudsaves.services.roms import upsert_rom
from cloudsaves.services.users import create_user
from tests.conftest import api_event, load_event, load_function, make_principal, response_json

PASSWORD = "correct-horse-battery"
EMERALD = "saves/mGBA/Pokemon Emerald.srm"


@pytest.fixture
def door(aws: None) -> ModuleType:
    return load_function("cloud_sync")


@pytest.fixture
def alice(aws: None) -> Any:
    user = create_user(UserCreate(username="alice", password=PASSWORD, role=Role.VIEWER))
    upsert_rom(1, RomUpsert(name="Emerald", fs_name="Pokemon Emerald.gba", platform_id=7,
                            platform_slug="gba", platform_fs_slug="gba"))  # fmt: skip
    return user


def event(
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    auth: tuple[str, str] | None = ("alice", PASSWORD),
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda function URL event as RetroArch's requests produce it (path percent-encoded)."""
    from urllib.parse import quote

    raw_path = "/api/cloud-sync/" + quote(path, safe="/*-._")
    all_headers = {"host": "door.example", "user-agent": "libretro", "connection": "close"}
    if auth is not None:
        all_headers["authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    all_headers.update(headers or {})
    result: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "door.example",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": body is not None,
    }
    if body is not None:
        result["body"] = base64.b64encode(body).decode()
    return result


def call(
    door: ModuleType, lambda_context: Any, *args: Any, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    answer = door.lambda_handler(event(*args, **kwargs), lambda_context)
    body = (
        base64.b64decode(answer["body"])
        if answer.get("isBase64Encoded")
        else (answer.get("body") or "").encode()
    )
    return answer["statusCode"], answer.get("headers") or {}, body


def manifest(door: ModuleType, lambda_context: Any, **kwargs: Any) -> dict[str, str]:
    status, _, body = call(door, lambda_context, "GET", "manifest.server", **kwargs)
    assert status == 200
    return {row["path"]: row["hash"] for row in json.loads(body)}


def history(user_id: int) -> list[SaveRecord]:
    return [r for r in AssetsRepository(table(), "save").all_of_rom(user_id, 1) if isinstance(r, SaveRecord)]


def api_upload(user: Any, data: bytes, *, emulator: str = "mgba", kind: str = "save") -> None:
    """A version committed by another client (what POST /api/saves or a direct upload commits)."""
    principal = make_principal(user_id=user.id, username=user.username)
    name = "Pokemon Emerald.srm" if kind == "save" else "Pokemon Emerald.state"
    stored = StoredFile(name, len(data), content_hash(data), storage.new_object_key(kind, user.id, name))
    storage.put_object(stored.object_key, data)
    params = UploadParams(rom_id=1, emulator=emulator, slot="autosave" if kind == "save" else None)
    asset_uploads.commit_upload(kind, principal, params, stored)  # type: ignore[arg-type]


def test_cloud_sync_event_file_answers_options(door: ModuleType, alice: Any, lambda_context: Any) -> None:
    answer = door.lambda_handler(load_event("cloud_sync/options.json"), lambda_context)

    assert answer["statusCode"] == 200
    assert answer["headers"]["DAV"] == "1" and "MKCOL" in answer["headers"]["Allow"]


def test_cloud_sync_put_of_a_save_is_a_new_version_of_the_autosave_slot(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    assert call(door, lambda_context, "PUT", EMERALD, b"v1")[0] == 201
    assert call(door, lambda_context, "PUT", EMERALD, b"v2")[0] == 204
    assert call(door, lambda_context, "PUT", EMERALD, b"v1")[0] == 204  # same bytes again: still new

    versions = history(alice.id)
    assert len(versions) == 3  # nothing overwritten: every upload is a version in the history
    assert {v.slot for v in versions} == {"autosave"} and {v.emulator for v in versions} == {"mGBA"}
    assert call(door, lambda_context, "GET", EMERALD)[2] == b"v1"
    assert manifest(door, lambda_context) == {EMERALD: md5_hex(b"v1")}


def test_cloud_sync_other_clients_versions_show_under_the_same_path(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    call(door, lambda_context, "PUT", EMERALD, b"from retroarch")
    # Given a zip-shaped save from another client: RomM's content_hash is not its MD5
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.sav", b"from the handheld")
    zipped = buffer.getvalue()
    api_upload(alice, zipped, emulator="mgba")

    assert content_hash(zipped) != md5_hex(zipped)
    assert manifest(door, lambda_context) == {EMERALD: md5_hex(zipped)}  # the bound path, RetroArch's hash
    assert call(door, lambda_context, "GET", EMERALD)[2] == zipped


def test_cloud_sync_a_version_no_retroarch_uploaded_appears_at_its_derived_path(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    api_upload(alice, b"handheld save", emulator="mGBA")
    api_upload(alice, b"handheld state", emulator="mGBA", kind="state")

    assert manifest(door, lambda_context) == {
        EMERALD: md5_hex(b"handheld save"),
        "states/mGBA/Pokemon Emerald.state": md5_hex(b"handheld state"),
    }
    assert call(door, lambda_context, "GET", "states/mGBA/Pokemon Emerald.state")[2] == b"handheld state"


def test_cloud_sync_delete_is_a_tombstone_and_the_history_keeps_the_bytes(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    call(door, lambda_context, "PUT", EMERALD, b"keep me")

    assert call(door, lambda_context, "DELETE", EMERALD)[0] == 204

    assert manifest(door, lambda_context) == {EMERALD: ""}
    assert call(door, lambda_context, "GET", EMERALD) == (404, {}, b"")  # empty: RetroArch writes 404 bodies
    assert call(door, lambda_context, "DELETE", EMERALD)[0] == 404
    (version,) = history(alice.id)
    assert storage.get_object(version.object_key) == b"keep me"
    # a newer version from any client brings the file back
    api_upload(alice, b"played again")
    assert manifest(door, lambda_context) == {EMERALD: md5_hex(b"played again")}


def test_cloud_sync_move_to_deleted_keeps_the_bytes_readable_there(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    call(door, lambda_context, "PUT", EMERALD, b"old save")
    target = "deleted/saves/mGBA/Pokemon Emerald.srm-261203-071421"
    destination = "http://door.example/api/cloud-sync/deleted/saves/mGBA/Pokemon%20Emerald.srm-261203-071421"

    status, _, _ = call(door, lambda_context, "MOVE", EMERALD, headers={"destination": destination})

    assert status == 201
    assert call(door, lambda_context, "GET", target)[2] == b"old save"
    assert manifest(door, lambda_context) == {EMERALD: "", target: md5_hex(b"old save")}


def test_cloud_sync_plain_files_round_trip_byte_for_byte(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    data = bytes(range(256)) * 3
    paths = ["config/mGBA/mGBA.opt", "saves/Snes9x/Chrono Trigger (USA).srm", "saves/x.srm", "0-byte.srm"]
    for path in paths:
        body = b"" if path == "0-byte.srm" else data
        assert call(door, lambda_context, "PUT", path, body)[0] == 201

    for path in paths:
        assert call(door, lambda_context, "GET", path)[2] == (b"" if path == "0-byte.srm" else data)
    assert history(alice.id) == []  # no ROM has those stems: plain files, not saves
    assert call(door, lambda_context, "DELETE", "saves/x.srm")[0] == 204
    assert call(door, lambda_context, "GET", "saves/x.srm")[0] == 404
    assert manifest(door, lambda_context)["saves/x.srm"] == ""
    assert manifest(door, lambda_context)["0-byte.srm"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_cloud_sync_manifest_put_is_checked_and_never_trusted(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    call(door, lambda_context, "PUT", EMERALD, b"live")
    lie = json.dumps([{"path": EMERALD, "hash": ""}, {"path": "config/ghost.cfg", "hash": "0" * 32}]).encode()

    assert call(door, lambda_context, "PUT", "manifest.server", lie)[0] == 204

    assert manifest(door, lambda_context) == {EMERALD: md5_hex(b"live")}
    status, _, body = call(door, lambda_context, "PUT", "manifest.server", b"<html>garbage</html>")
    assert status == 400 and json.loads(body)["detail"].startswith("Malformed manifest")


def test_cloud_sync_another_users_files_are_invisible(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    create_user(UserCreate(username="bob", password=PASSWORD, role=Role.VIEWER))
    call(door, lambda_context, "PUT", EMERALD, b"alice's")
    call(door, lambda_context, "PUT", "config/a.cfg", b"alice's config")
    bob = ("bob", PASSWORD)

    assert manifest(door, lambda_context, auth=bob) == {}
    assert call(door, lambda_context, "GET", EMERALD, auth=bob) == (404, {}, b"")
    assert call(door, lambda_context, "GET", "config/a.cfg", auth=bob) == (404, {}, b"")
    assert call(door, lambda_context, "DELETE", "config/a.cfg", auth=bob)[0] == 404
    assert call(door, lambda_context, "GET", "config/a.cfg")[2] == b"alice's config"


@pytest.mark.parametrize(
    "auth", [None, ("alice", "wrong"), ("nobody", PASSWORD), ("alice", "rmm_" + "0" * 64)], ids=str
)
def test_cloud_sync_wrong_credentials_are_401_basic_and_change_nothing(
    door: ModuleType, alice: Any, lambda_context: Any, auth: tuple[str, str] | None
) -> None:
    for method, path in (("OPTIONS", ""), ("PUT", EMERALD), ("PUT", "config/x.cfg"), ("DELETE", EMERALD)):
        status, headers, _ = call(door, lambda_context, method, path, b"x", auth=auth)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")

    assert history(alice.id) == [] and manifest(door, lambda_context) == {}


def test_cloud_sync_accepts_a_client_token_as_the_password(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    principal = make_principal(user_id=alice.id, username="alice")
    writer = create_client_token(
        principal, ClientTokenCreate(name="ra", scopes=["assets.read", "assets.write"])
    )
    reader = create_client_token(principal, ClientTokenCreate(name="ro", scopes=["assets.read"]))

    assert call(door, lambda_context, "PUT", EMERALD, b"t", auth=("alice", writer.raw_token))[0] == 201
    assert call(door, lambda_context, "GET", EMERALD, auth=("alice", reader.raw_token))[2] == b"t"
    assert call(door, lambda_context, "PUT", EMERALD, b"u", auth=("alice", reader.raw_token))[0] == 403
    assert call(door, lambda_context, "GET", EMERALD, auth=("bob", writer.raw_token))[0] == 401


def test_cloud_sync_bad_input_is_4xx_and_writes_nothing(
    door: ModuleType, alice: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from cloudsaves.settings import get_settings

    monkeypatch.setenv("CLOUD_SYNC_MAX_FILE_BYTES", "1000")
    get_settings.cache_clear()
    call(door, lambda_context, "PUT", EMERALD, b"original")

    status, headers, _ = call(door, lambda_context, "PROPFIND", "")
    assert status == 405 and "MOVE" in headers["Allow"]
    assert call(door, lambda_context, "PUT", "saves/../../x.srm", b"x")[0] == 400
    assert call(door, lambda_context, "PUT", "saves/x\x01.srm", b"x")[0] == 400
    status, _, body = call(door, lambda_context, "PUT", EMERALD, b"x" * 1001)
    assert status == 413 and "uploads" in json.loads(body)["detail"]
    assert "direct-upload flow" in caplog.text
    assert call(door, lambda_context, "PUT", EMERALD, b"x" * 1000)[0] == 204  # the limit itself passes
    for destination in ("", "http://door.example/elsewhere/x", "http://door.example/api/cloud-sync/../x"):
        status, _, _ = call(door, lambda_context, "MOVE", EMERALD, headers={"destination": destination})
        assert status == 400

    assert len(history(alice.id)) == 2
    assert manifest(door, lambda_context) == {EMERALD: md5_hex(b"x" * 1000)}


def test_cloud_sync_mkcol_accepts_existing_and_new_folders(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    for path in ("saves", "saves/mGBA", "deleted/saves/mGBA", "saves"):
        assert call(door, lambda_context, "MKCOL", path)[0] == 201


def test_cloud_sync_rom_stem_index_follows_fs_name_and_prefers_the_lowest_id(aws: None) -> None:
    repo = RomsRepository(table())
    upsert_rom(
        5, RomUpsert(name="T", fs_name="Tetris.gb", platform_id=1, platform_slug="gb", platform_fs_slug="gb")
    )
    upsert_rom(
        3,
        RomUpsert(name="T", fs_name="TETRIS.nes", platform_id=2, platform_slug="nes", platform_fs_slug="nes"),
    )

    assert repo.find_by_stem("tetris") == 3
    upsert_rom(
        3,
        RomUpsert(
            name="T", fs_name="Tetris DX.nes", platform_id=2, platform_slug="nes", platform_fs_slug="nes"
        ),
    )
    assert repo.find_by_stem("tetris") == 5 and repo.find_by_stem("tetris dx") == 3


def test_cloud_sync_event_files_put_then_move_a_save(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    put = door.lambda_handler(load_event("cloud_sync/put_save.json"), lambda_context)
    move = door.lambda_handler(load_event("cloud_sync/move_to_deleted.json"), lambda_context)

    assert (put["statusCode"], move["statusCode"]) == (201, 201)
    rows = manifest(door, lambda_context)
    assert rows[EMERALD] == "" and rows["deleted/saves/mGBA/Pokemon Emerald.srm-261203-071421"] == md5_hex(
        b"emerald save bytes"
    )


def test_cloud_sync_the_door_itself_and_unstorable_names_are_not_saves(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    upsert_rom(2, RomUpsert(name="Z", fs_name="Zelda: Minish Cap.gba", platform_id=7, platform_slug="gba",
                            platform_fs_slug="gba"))  # fmt: skip
    assert call(door, lambda_context, "PUT", "", b"x")[0] == 400
    assert call(door, lambda_context, "GET", "") == (404, {}, b"")

    # a name the upload path would store renamed (':' becomes '-') stays a plain file, byte for byte
    assert call(door, lambda_context, "PUT", "saves/mGBA/Zelda: Minish Cap.srm", b"p")[0] == 201

    assert AssetsRepository(table(), "save").all_of_rom(alice.id, 2) == []
    assert manifest(door, lambda_context) == {"saves/mGBA/Zelda: Minish Cap.srm": md5_hex(b"p")}
    assert call(door, lambda_context, "GET", "saves/mGBA/Zelda: Minish Cap.srm")[2] == b"p"


# --- one tombstone for every door (the sync protocol's) ------------------------------------------------


def test_cloud_sync_delete_is_planned_as_delete_by_sync_negotiate(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    # Given a save RetroArch uploaded, which another device holds too
    call(door, lambda_context, "PUT", EMERALD, b"keep me")
    (version,) = history(alice.id)
    now = "2025-03-01T12:00:00.000000+00:00"
    DevicesRepository(table()).create(
        DeviceRecord(id="deck", user_id=alice.id, name="Deck", created_at=now, updated_at=now)
    )

    # When RetroArch deletes it
    assert call(door, lambda_context, "DELETE", EMERALD)[0] == 204

    # Then a tombstone-aware negotiate of the other device plans a delete, not an upload back
    held = {
        "rom_id": 1,
        "file_name": version.file_name,
        "slot": "autosave",
        "content_hash": version.content_hash,
        "updated_at": version.updated_at,
        "file_size_bytes": version.file_size_bytes,
    }
    body = {"device_id": "deck", "saves": [held], "deleted": []}
    principal = make_principal(user_id=alice.id, username="alice")
    answer = load_function("negotiate_sync").lambda_handler(
        api_event("POST", "/api/sync/negotiate", principal=principal, body=body), lambda_context
    )
    assert [(op["action"], op["reason"]) for op in response_json(answer)["operations"]] == [
        ("delete", "Save was deleted on another device")
    ]


def test_cloud_sync_a_slot_emptied_through_the_api_is_a_tombstone_for_retroarch(
    door: ModuleType, alice: Any, lambda_context: Any
) -> None:
    call(door, lambda_context, "PUT", EMERALD, b"keep me")
    (version,) = history(alice.id)

    asset_changes.delete_assets("save", make_principal(user_id=alice.id, username="alice"), [version.id])

    # RetroArch deletes its copy (a missing row would make it upload the save back)
    assert manifest(door, lambda_context) == {EMERALD: ""}
    assert call(door, lambda_context, "GET", EMERALD) == (404, {}, b"")
    api_upload(alice, b"played again")
    assert manifest(door, lambda_context) == {EMERALD: md5_hex(b"played again")}
