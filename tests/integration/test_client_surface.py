"""The RomM client surface beyond saves (API.md section 11) against moto in-process: platforms, the
caller's device, activity, gallery screenshots, the served contract, the heartbeat and complete lists."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import timedelta

import pytest

from tests.assets_support import multipart
from tests.conftest import ROOT, api_event, load_event, load_function, make_principal, response_json

ROM = {
    "name": "Pokemon Emerald",
    "fs_name": "Pokemon Emerald (USA).gba",
    "platform_id": 7,
    "platform_slug": "gba",
    "platform_fs_slug": "gba",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
ALICE = make_principal("viewer", user_id=1001, username="alice")
BOB = make_principal("viewer", user_id=2002, username="bob")


def invoke(name: str, lambda_context, method: str, path: str, **kwargs) -> dict:
    return load_function(name).lambda_handler(api_event(method, path, **kwargs), lambda_context)


@pytest.fixture
def catalog(aws):
    from cloudsaves.models.roms import RomUpsert
    from cloudsaves.services.roms import upsert_rom

    upsert_rom(10, RomUpsert(**ROM))
    upsert_rom(11, RomUpsert(**{**ROM, "name": "Ruby"}))
    upsert_rom(
        12, RomUpsert(**{**ROM, "platform_id": 3, "platform_slug": "snes", "platform_fs_slug": "snes"})
    )


@pytest.fixture
def deck(aws):
    from cloudsaves.models.devices import DeviceCreatePayload
    from cloudsaves.services.devices import register_device

    _, created = register_device(ALICE.user_id, DeviceCreatePayload(name="Deck", client="argosy"))
    return created.device_id


# --- platforms and the caller ---------------------------------------------------------------------


def test_platforms_come_from_the_catalog_with_counts(catalog, lambda_context):
    from cloudsaves.models.roms import RomUpsert
    from cloudsaves.services.roms import upsert_rom

    upsert_rom(
        11, RomUpsert(**{**ROM, "platform_id": 3, "platform_slug": "snes", "platform_fs_slug": "snes"})
    )

    listed = invoke("list_platforms", lambda_context, "GET", "/api/platforms", principal=ALICE)
    one = invoke(
        "get_platform",
        lambda_context,
        "GET",
        "/api/platforms/7",
        route="/api/platforms/{id}",
        principal=ALICE,
        path_params={"id": "7"},
    )

    platforms = response_json(listed)
    assert listed["statusCode"] == 200
    assert [(p["id"], p["slug"], p["rom_count"]) for p in platforms] == [(7, "gba", 1), (3, "snes", 2)]
    gba = response_json(one)
    assert gba["display_name"] == gba["name"] == "Game Boy Advance" and gba["fs_slug"] == "gba"
    assert gba["firmware"] == [] and gba["firmware_count"] == 0 and gba["created_at"]


def test_unknown_platform_is_404_and_platforms_need_their_scope(catalog, lambda_context):
    missing = invoke(
        "get_platform",
        lambda_context,
        "GET",
        "/api/platforms/99",
        route="/api/platforms/{id}",
        principal=ALICE,
        path_params={"id": "99"},
    )
    no_scope = make_principal("viewer", scopes=frozenset({"me.read"}))
    refused = invoke("list_platforms", lambda_context, "GET", "/api/platforms", principal=no_scope)
    assert missing["statusCode"] == 404 and response_json(missing) == {
        "detail": "Platform with id '99' not found"
    }
    assert refused["statusCode"] == 403


def test_platform_listing_is_one_query_on_an_index(catalog, lambda_context, monkeypatch):
    from cloudsaves.aws import table

    calls: list[str] = []
    real = table().query
    monkeypatch.setattr(table(), "query", lambda **kw: calls.append(kw.get("IndexName")) or real(**kw))
    monkeypatch.setattr(table(), "scan", lambda **kw: pytest.fail("no Scan"))
    invoke("list_platforms", lambda_context, "GET", "/api/platforms", principal=ALICE)
    assert calls == ["gsi1"]


def test_users_me_names_the_current_device(aws, lambda_context):
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    user = create_user(UserCreate(username="alice", password="password-123"))
    bound = make_principal("viewer", user_id=user.id, username="alice", device_id="dev-9")
    plain = make_principal("viewer", user_id=user.id, username="alice")
    assert (
        response_json(invoke("get_current_user", lambda_context, "GET", "/api/users/me", principal=bound))[
            "current_device_id"
        ]
        == "dev-9"
    )
    assert (
        response_json(invoke("get_current_user", lambda_context, "GET", "/api/users/me", principal=plain))[
            "current_device_id"
        ]
        is None
    )


def test_heartbeat_reports_romm_api_level_and_own_version(lambda_context):
    from cloudsaves import __version__

    system = response_json(invoke("heartbeat", lambda_context, "GET", "/api/heartbeat"))["SYSTEM"]
    assert system["VERSION"] == "5.2.0" and system["CLOUD_SAVES_VERSION"] == __version__


def test_openapi_json_is_served_gzipped_when_accepted(lambda_context):
    plain = invoke("get_openapi", lambda_context, "GET", "/openapi.json")
    zipped = invoke(
        "get_openapi", lambda_context, "GET", "/openapi.json", headers={"accept-encoding": "gzip"}
    )
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert plain["statusCode"] == 200 and json.loads(plain["body"]) == committed
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(base64.b64decode(zipped["body"]))) == committed


# --- activity -----------------------------------------------------------------------------------


def heartbeat(lambda_context, principal, rom_id: int, device_id: str) -> dict:
    return invoke(
        "record_activity",
        lambda_context,
        "POST",
        "/api/activity/heartbeat",
        principal=principal,
        body={"rom_id": rom_id, "device_id": device_id},
    )


def activity(lambda_context, principal, rom_id: int | None = None) -> list[dict]:
    if rom_id is None:
        return response_json(
            invoke("list_activity", lambda_context, "GET", "/api/activity", principal=principal)
        )
    response = invoke(
        "list_rom_activity",
        lambda_context,
        "GET",
        f"/api/activity/rom/{rom_id}",
        route="/api/activity/rom/{rom_id}",
        principal=principal,
        path_params={"rom_id": str(rom_id)},
    )
    return response_json(response)


def test_heartbeat_records_activity_keeps_started_at_and_moves_last_seen(
    catalog, deck, lambda_context, monkeypatch
):
    from cloudsaves import clock
    from cloudsaves.services.devices import get_device

    first = heartbeat(lambda_context, ALICE, 10, deck)
    entry = response_json(first)
    assert first["statusCode"] == 200
    assert entry["rom_name"] == "Pokemon Emerald" and entry["platform_name"] == "Game Boy Advance"
    assert entry["device_type"] == "argosy" and entry["username"] == "alice"
    seen = get_device(ALICE.user_id, deck).last_seen
    assert seen is not None

    later = clock.utcnow() + timedelta(seconds=30)
    monkeypatch.setattr("cloudsaves.services.activity.utcnow", lambda: later)
    again = response_json(heartbeat(lambda_context, ALICE, 10, deck))

    assert again["started_at"] == entry["started_at"]
    assert get_device(ALICE.user_id, deck).last_seen >= seen
    assert [e["rom_id"] for e in activity(lambda_context, ALICE)] == [10]
    assert [e["device_id"] for e in activity(lambda_context, ALICE, 10)] == [deck]
    assert activity(lambda_context, ALICE, 11) == []


def test_activity_expires_and_is_only_the_callers(catalog, deck, lambda_context, monkeypatch):
    from cloudsaves import clock

    heartbeat(lambda_context, ALICE, 10, deck)
    assert activity(lambda_context, BOB) == [] and activity(lambda_context, BOB, 10) == []

    later = clock.utcnow() + timedelta(seconds=91)
    monkeypatch.setattr("cloudsaves.services.activity.utcnow", lambda: later)
    assert activity(lambda_context, ALICE) == []  # expired, whether or not TTL has deleted it yet


def test_heartbeat_unknown_rom_or_device_is_404_with_romms_text(catalog, deck, lambda_context):
    rom = heartbeat(lambda_context, ALICE, 999, deck)
    device = heartbeat(lambda_context, ALICE, 10, "no-such-device")
    foreign = heartbeat(lambda_context, BOB, 10, deck)  # alice's device
    assert rom["statusCode"] == 404 and response_json(rom) == {"detail": "ROM 999 not found"}
    assert device["statusCode"] == 404
    assert response_json(device) == {"detail": "Device no-such-device not found for this user"}
    assert foreign["statusCode"] == 404
    bad = heartbeat(lambda_context, ALICE, 0, deck)
    assert bad["statusCode"] == 422


def test_clear_ends_the_session(catalog, deck, lambda_context):
    heartbeat(lambda_context, ALICE, 10, deck)
    cleared = invoke(
        "clear_activity",
        lambda_context,
        "DELETE",
        "/api/activity/heartbeat",
        principal=ALICE,
        query={"device_id": deck},
    )
    unknown = invoke(
        "clear_activity",
        lambda_context,
        "DELETE",
        "/api/activity/heartbeat",
        principal=ALICE,
        query={"device_id": "nothing"},
    )
    assert cleared["statusCode"] == 204 and unknown["statusCode"] == 204
    assert activity(lambda_context, ALICE) == []


def test_activity_scopes_are_romms(catalog, deck, lambda_context):
    reader = make_principal("viewer", user_id=ALICE.user_id, scopes=frozenset({"roms.user.read"}))
    assert heartbeat(lambda_context, reader, 10, deck)["statusCode"] == 403
    assert (
        invoke("list_activity", lambda_context, "GET", "/api/activity", principal=reader)["statusCode"] == 200
    )


# --- gallery screenshots --------------------------------------------------------------------------


def upload_shot(
    lambda_context, principal, data: bytes = PNG, name: str = "shot.png", rom_id: int = 10
) -> dict:
    body, content_type = multipart({"screenshotFile": (name, data)})
    return invoke(
        "upload_screenshot",
        lambda_context,
        "POST",
        "/api/screenshots",
        principal=principal,
        query={"rom_id": str(rom_id)},
        body=body,
        headers={"content-type": content_type},
    )


def shot_content(lambda_context, principal, shot_id: int) -> dict:
    return invoke(
        "download_screenshot",
        lambda_context,
        "GET",
        f"/api/screenshots/{shot_id}/content",
        route="/api/screenshots/{id}/content",
        principal=principal,
        path_params={"id": str(shot_id)},
    )


def share(lambda_context, principal, shot_id: int, is_public: bool) -> dict:
    return invoke(
        "share_screenshot",
        lambda_context,
        "PUT",
        f"/api/screenshots/{shot_id}",
        route="/api/screenshots/{id}",
        principal=principal,
        path_params={"id": str(shot_id)},
        body={"is_public": is_public},
    )


def delete_shot(lambda_context, principal, shot_id: int) -> dict:
    return invoke(
        "delete_screenshot",
        lambda_context,
        "DELETE",
        f"/api/screenshots/{shot_id}",
        route="/api/screenshots/{id}",
        principal=principal,
        path_params={"id": str(shot_id)},
    )


def test_screenshot_upload_is_private_gallery_and_served_to_its_owner(catalog, lambda_context):
    response = upload_shot(lambda_context, ALICE)
    shot = response_json(response)
    assert response["statusCode"] == 200
    assert shot["is_gallery"] is True and shot["is_public"] is False and shot["file_size_bytes"] == len(PNG)
    assert shot["download_path"].startswith(f"/api/screenshots/{shot['id']}/content?timestamp=")
    content = shot_content(lambda_context, ALICE, shot["id"])
    assert content["statusCode"] == 200 and content["headers"]["Content-Type"] == "image/png"
    assert base64.b64decode(content["body"]) == PNG


def test_screenshot_of_another_user_is_404_until_shared(catalog, lambda_context):
    shot = response_json(upload_shot(lambda_context, ALICE))

    assert shot_content(lambda_context, BOB, shot["id"])["statusCode"] == 404
    assert share(lambda_context, BOB, shot["id"], True)["statusCode"] == 404
    assert delete_shot(lambda_context, BOB, shot["id"])["statusCode"] == 404

    shared = share(lambda_context, ALICE, shot["id"], True)
    assert shared["statusCode"] == 200 and response_json(shared)["is_public"] is True
    assert shot_content(lambda_context, BOB, shot["id"])["statusCode"] == 200  # public: readable
    assert delete_shot(lambda_context, BOB, shot["id"])["statusCode"] == 404  # still not bob's to delete


def test_screenshot_delete_removes_record_and_bytes(catalog, lambda_context):
    from cloudsaves import storage
    from cloudsaves.services.screenshots import screenshots_repository

    shot = response_json(upload_shot(lambda_context, ALICE))
    key = screenshots_repository().get(shot["id"]).object_key

    deleted = delete_shot(lambda_context, ALICE, shot["id"])

    assert deleted["statusCode"] == 200 and not deleted.get("body")
    assert shot_content(lambda_context, ALICE, shot["id"])["statusCode"] == 404
    with pytest.raises(Exception, match="NoSuchKey"):
        storage.get_object(key)
    assert delete_shot(lambda_context, ALICE, shot["id"])["statusCode"] == 404


def test_screenshot_same_name_replaces_the_bytes(catalog, lambda_context):
    from cloudsaves import storage

    first = response_json(upload_shot(lambda_context, ALICE))
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    second = response_json(upload_shot(lambda_context, ALICE, data=jpeg))
    assert second["id"] == first["id"] and second["file_size_bytes"] == len(jpeg)
    assert base64.b64decode(shot_content(lambda_context, ALICE, first["id"])["body"]) == jpeg
    objects = storage.s3_client().list_objects_v2(Bucket=storage.bucket(), Prefix="users/")
    assert len(objects.get("Contents", [])) == 1  # the replaced bytes are gone (a noncurrent version)


@pytest.mark.parametrize(
    ("name", "data", "status", "detail"),
    [
        ("shot.png", b"MZ\x90\x00 not an image at all", 400, "Screenshot file is not an image"),
        ("notes.txt", PNG, 400, "Unsupported image file type. Allowed: .avif, .bmp"),
        ("..", PNG, 400, "Invalid screenshot filename"),
        ("shot.png", b"", 400, "Screenshot file is empty"),
    ],
)
def test_screenshot_bad_uploads_are_400(catalog, lambda_context, name, data, status, detail):
    response = upload_shot(lambda_context, ALICE, data=data, name=name)
    assert response["statusCode"] == status
    assert response_json(response)["detail"].startswith(detail)


def test_screenshot_oversized_is_413_and_stores_nothing(catalog, lambda_context, monkeypatch):
    from cloudsaves import storage
    from cloudsaves.settings import get_settings

    monkeypatch.setenv("MAX_SCREENSHOT_BYTES", "2048")
    get_settings.cache_clear()
    response = upload_shot(lambda_context, ALICE, data=PNG + b"\x00" * 4096)
    assert response["statusCode"] == 413
    assert response_json(response) == {
        "detail": "Screenshot file exceeds the maximum allowed size of 2048 bytes"
    }
    assert "Contents" not in storage.s3_client().list_objects_v2(Bucket=storage.bucket())


def test_screenshot_for_unknown_rom_is_404_and_leaves_no_bytes(catalog, lambda_context):
    from cloudsaves import storage

    response = upload_shot(lambda_context, ALICE, rom_id=404)
    assert response["statusCode"] == 404
    assert "Contents" not in storage.s3_client().list_objects_v2(Bucket=storage.bucket())


def test_screenshot_without_a_file_is_400(catalog, lambda_context):
    body, content_type = multipart({}, {"note": "no file"})
    response = invoke(
        "upload_screenshot",
        lambda_context,
        "POST",
        "/api/screenshots",
        principal=ALICE,
        query={"rom_id": "10"},
        body=body,
        headers={"content-type": content_type},
    )
    assert response["statusCode"] == 400 and response_json(response) == {
        "detail": "No screenshot file provided"
    }


# --- complete lists -------------------------------------------------------------------------------


def seed_saves(user_id: int, count: int) -> list[int]:
    """`count` save records written straight to the table (no bytes: a list never reads them)."""
    from cloudsaves.aws import table
    from cloudsaves.models.assets import SaveRecord
    from cloudsaves.repositories.assets import AssetsRepository

    repo = AssetsRepository(table(), "save")
    ids = list(range(1, count + 1))
    with table().batch_writer() as batch:
        for save_id in ids:
            stamp = f"2025-01-01T00:00:00.{save_id:06d}+00:00"
            record = SaveRecord(
                id=save_id,
                user_id=user_id,
                rom_id=10,
                platform_id=7,
                platform_fs_slug="gba",
                file_name=f"emerald {save_id}.srm",
                file_name_no_tags=f"emerald {save_id}",
                file_name_no_ext=f"emerald {save_id}",
                file_extension="srm",
                file_path=f"users/{user_id}/saves/gba/10/mgba",
                file_size_bytes=131072,
                emulator="mgba",
                content_hash="0" * 32,
                created_at=stamp,
                updated_at=stamp,
                object_key=f"users/{user_id}/saves/x/{save_id}.srm",
                slot="autosave",
            )
            batch.put_item(Item=repo._item(record))
    return ids


@pytest.fixture
def fast_moto(monkeypatch):
    """moto costs several ms per item on the wire (its response serializer searches attribute aliases
    for every AttributeValue member, and each attribute written re-measures the whole item): 5,000
    items would take minutes. Plain dict lookups and no per-attribute size check change nothing this
    test relies on (Query's ordering, Limit and ExclusiveStartKey are moto's own)."""
    from moto.core import serialize
    from moto.dynamodb.models import dynamo_type

    slow = serialize.ResponseSerializer.get_value

    def get_value(self, value, key, shape):
        return value.get(key) if isinstance(value, dict) else slow(self, value, key, shape)

    monkeypatch.setattr(serialize.ResponseSerializer, "get_value", get_value)
    monkeypatch.setattr(dynamo_type.LimitedSizeDict, "__setitem__", dict.__setitem__)


def test_5000_saves_listed_without_limit_in_one_answer(aws, lambda_context, fast_moto):
    # Given 5,000 saves (more than one Query page of 1,000, and RomM clients send no limit)
    ids = seed_saves(ALICE.user_id, 5000)

    # When a client that accepts gzip lists them without limit
    response = invoke(
        "list_saves",
        lambda_context,
        "GET",
        "/api/saves",
        principal=ALICE,
        headers={"accept-encoding": "gzip, deflate"},
    )

    # Then one answer holds all of them, newest first, compact, and far inside Lambda's 6 MB
    plain = gzip.decompress(base64.b64decode(response["body"]))
    saves = json.loads(plain)
    assert response["statusCode"] == 200 and "X-Next-Cursor" not in response["headers"]
    assert [s["id"] for s in saves] == list(reversed(ids))
    assert response["headers"]["Content-Encoding"] == "gzip" and len(response["body"]) < 1_000_000
    assert len(plain) < 5_500_000 and b", " not in plain[:500]  # fits even for clients without gzip


def test_lists_without_limit_read_every_page(aws, lambda_context, monkeypatch):
    monkeypatch.setattr("cloudsaves.services.asset_reads.FULL_LIST_PAGE", 2)  # 5 saves: three Queries
    ids = seed_saves(ALICE.user_id, 5)
    saves = invoke("list_saves", lambda_context, "GET", "/api/saves", principal=ALICE)
    identifiers = invoke(
        "list_save_identifiers", lambda_context, "GET", "/api/saves/identifiers", principal=ALICE
    )
    states = invoke("list_states", lambda_context, "GET", "/api/states", principal=ALICE)
    assert [s["id"] for s in response_json(saves)] == list(reversed(ids))
    assert response_json(identifiers) == list(reversed(ids))
    assert states["statusCode"] == 200 and response_json(states) == []


def test_lists_with_limit_still_page(aws, lambda_context):
    seed_saves(ALICE.user_id, 5)
    first = invoke("list_saves", lambda_context, "GET", "/api/saves", principal=ALICE, query={"limit": "2"})
    cursor = first["headers"]["X-Next-Cursor"]
    rest = invoke(
        "list_saves", lambda_context, "GET", "/api/saves", principal=ALICE, query={"cursor": cursor}
    )
    assert [s["id"] for s in response_json(first)] == [5, 4]
    assert [s["id"] for s in response_json(rest)] == [3, 2, 1] and "X-Next-Cursor" not in rest["headers"]


def test_list_too_large_for_one_response_is_413_not_cut_short(aws, lambda_context, monkeypatch):
    seed_saves(ALICE.user_id, 30)
    monkeypatch.setattr("cloudsaves.http.MAX_RESPONSE_BODY_BYTES", 1000)
    response = invoke("list_saves", lambda_context, "GET", "/api/saves", principal=ALICE)
    assert response["statusCode"] == 413 and "limit and cursor" in response_json(response)["detail"]


# --- the committed events -------------------------------------------------------------------------

SURFACE_EVENTS = [
    ("list_platforms/handheld_probe.json", 200),
    ("get_platform/gba.json", 200),
    ("record_activity/playing.json", 404),  # the event's device is not registered here
    ("clear_activity/stopped.json", 204),
    ("list_activity/mine.json", 200),
    ("list_rom_activity/emerald.json", 200),
    ("upload_screenshot/png.json", 200),
    ("download_screenshot/unknown.json", 404),
    ("share_screenshot/unknown.json", 404),
    ("delete_screenshot/unknown.json", 404),
    ("regenerate_client_token/unknown.json", 404),
    ("pair_client_token/unknown.json", 404),
    ("get_pair_status/expired.json", 404),
    ("exchange_pair_code/unknown.json", 404),
    ("list_all_client_tokens/admin.json", 200),
    ("admin_delete_client_token/unknown.json", 404),
    ("get_openapi/get.json", 200),
]


@pytest.mark.parametrize(("event_file", "status"), SURFACE_EVENTS)
def test_surface_events_answer_as_expected(catalog, lambda_context, event_file, status):
    response = load_function(event_file.split("/")[0]).lambda_handler(load_event(event_file), lambda_context)
    assert response["statusCode"] == status, response.get("body")


def test_screenshot_record_write_failing_leaves_no_bytes(catalog, lambda_context, monkeypatch):
    from cloudsaves import storage
    from cloudsaves.clock import utcnow
    from cloudsaves.repositories.screenshots import ScreenshotsRepository
    from cloudsaves.services.orphans import sweep

    def refuse(self, shot, *ledger):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(ScreenshotsRepository, "create", refuse)
    response = upload_shot(lambda_context, ALICE)
    assert response["statusCode"] == 500 and response_json(response) == {"detail": "Internal Server Error"}
    # The write's outcome is unknown (it may have landed): its pending note decides, an hour on
    monkeypatch.undo()
    assert sweep(utcnow() + timedelta(hours=2)).orphans_deleted == 1
    assert "Contents" not in storage.s3_client().list_objects_v2(Bucket=storage.bucket())
