"""Direct uploads and download URLs: handlers -> services -> moto (the PUT goes to the presigned URL)."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from functools import cache
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from cloudsaves import storage
from cloudsaves.aws import s3_client, table
from cloudsaves.clock import utcnow
from cloudsaves.hashing import content_hash, md5_base64, md5_hex
from cloudsaves.http import Principal
from cloudsaves.models.devices import DeviceCreatePayload
from cloudsaves.models.roms import RomUpsert
from cloudsaves.repositories import keys
from cloudsaves.services import uploads
from cloudsaves.services.devices import register_device
from cloudsaves.services.roms import upsert_rom
from tests.conftest import TEST_BUCKET, api_event, load_event, load_function, make_principal, response_json

pytestmark = pytest.mark.usefixtures("aws")

ALICE = make_principal(user_id=1001, username="alice")
BOB = make_principal(user_id=2002, username="bob")
ROM_ID = 4242
SAVE = b"SRAM\x00\x01" * 1000
STATE = bytes(range(256)) * 400


@cache
def _module(function_dir: str) -> ModuleType:
    return load_function(function_dir)


@pytest.fixture(autouse=True)
def rom(aws: None) -> None:
    upsert_rom(
        ROM_ID,
        RomUpsert(
            name="Zelda", fs_name="zelda.sfc", platform_id=7, platform_slug="snes", platform_fs_slug="snes"
        ),
    )


def _call(function_dir: str, event: dict[str, Any], context: Any) -> tuple[int, Any]:
    response = _module(function_dir).lambda_handler(event, context)
    return response["statusCode"], response_json(response)


def _reserve(
    context: Any, kind: str, data: bytes, principal: Principal = ALICE, **fields: Any
) -> tuple[int, Any]:
    body = {
        "rom_id": ROM_ID,
        "file_name": f"zelda.{'srm' if kind == 'save' else 'state'}",
        "file_size_bytes": len(data),
        "content_md5": md5_base64(data),
        **fields,
    }
    event = api_event("POST", f"/api/{kind}s/uploads", principal=principal, body=body)
    return _call(f"create_{kind}_upload", event, context)


def _complete(context: Any, kind: str, upload_id: str, principal: Principal = ALICE) -> tuple[int, Any]:
    event = api_event(
        "POST",
        f"/api/{kind}s/uploads/{upload_id}/complete",
        route=f"/api/{kind}s/uploads/{{upload_id}}/complete",
        principal=principal,
        path_params={"upload_id": upload_id},
    )
    return _call(f"complete_{kind}_upload", event, context)


def _download_url(
    context: Any, kind: str, asset_id: int, principal: Principal = ALICE, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    event = api_event(
        "POST",
        f"/api/{kind}s/{asset_id}/download-url",
        route=f"/api/{kind}s/{{id}}/download-url",
        principal=principal,
        query=query,
        path_params={"id": str(asset_id)},
    )
    return _call(f"create_{kind}_download_url", event, context)


def _put(presigned: dict[str, Any], data: bytes) -> None:
    """What a device does: PUT the bytes to the URL with exactly the headers it was given."""
    response = requests.put(presigned["url"], data=data, headers=presigned["headers"], timeout=30)
    assert response.status_code == 200, response.text


def _upload(
    context: Any, kind: str, data: bytes, principal: Principal = ALICE, **fields: Any
) -> dict[str, Any]:
    status, created = _reserve(context, kind, data, principal, **fields)
    assert status == 201, created
    _put(created[kind], data)
    status, record = _complete(context, kind, created["upload_id"], principal)
    assert status == 200, record
    return record


def _staging_key(presigned: dict[str, Any]) -> str:
    return unquote(urlsplit(presigned["url"]).path).removeprefix(f"/{TEST_BUCKET}/")


def _versions(key: str) -> list[dict[str, Any]]:
    page = s3_client().list_object_versions(Bucket=TEST_BUCKET, Prefix=key)
    return [v for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]


def _stored_bytes(kind: str, asset_id: int) -> bytes:
    item = table().get_item(Key={"pk": f"{kind.upper()}#{asset_id}", "sk": keys.PROFILE})["Item"]
    return s3_client().get_object(Bucket=TEST_BUCKET, Key=item["object_key"])["Body"].read()


def _listed(context: Any, kind: str, principal: Principal = ALICE) -> list[dict[str, Any]]:
    status, items = _call(f"list_{kind}s", api_event("GET", f"/api/{kind}s", principal=principal), context)
    assert status == 200
    return items


def _device(principal: Principal, name: str) -> str:
    _, created = register_device(principal.user_id, DeviceCreatePayload(name=name, allow_duplicate=True))
    return created.device_id


# --- reserve ----------------------------------------------------------------------------------------


def test_reserve_save_answers_presigned_put_and_stores_expiring_reservation(lambda_context: Any) -> None:
    status, created = _reserve(lambda_context, "save", SAVE, slot="main")

    assert status == 201
    assert set(created) == {"upload_id", "expires_at", "save", "screenshot"}
    assert created["screenshot"] is None
    assert created["save"]["method"] == "PUT"
    assert created["save"]["headers"] == {"Content-Length": str(len(SAVE)), "Content-MD5": md5_base64(SAVE)}
    key = _staging_key(created["save"])
    assert key.startswith("staging/") and created["upload_id"] in key
    item = table().get_item(Key={"pk": f"UPLOAD#{created['upload_id']}", "sk": "PROFILE"})["Item"]
    assert item["status"] == "pending" and item["user_id"] == ALICE.user_id
    expected_epoch = (utcnow() + timedelta(seconds=3600)).timestamp()
    assert abs(int(item["expires_at_epoch"]) - expected_epoch) < 60


def test_reserve_state_with_screenshot_answers_two_urls(lambda_context: Any) -> None:
    status, created = _reserve(
        lambda_context,
        "state",
        STATE,
        screenshot={"file_name": "shot.png", "file_size_bytes": 4, "content_md5": md5_base64(b"\x89PNG")},
    )

    assert status == 201
    assert "save" not in created
    assert _staging_key(created["state"]) != _staging_key(created["screenshot"])
    assert created["screenshot"]["headers"]["Content-Length"] == "4"


REFUSED_RESERVATIONS: list[tuple[dict[str, Any], int]] = [
    ({"rom_id": 999_999}, 404),
    ({"file_name": ".."}, 400),
    ({"emulator": "\x00bad"}, 400),
    ({"content_md5": "not-an-md5-at-all-nope=="}, 422),
    ({"file_size_bytes": 0}, 422),
    ({"file_size_bytes": 5 * 1024**3 + 1}, 422),
    ({"overwrite_everything": True}, 422),
    ({"screenshot": {"file_name": "/", "file_size_bytes": 1, "content_md5": md5_base64(b"x")}}, 400),
]


def test_reserve_rejects_what_a_multipart_upload_would(lambda_context: Any) -> None:
    # One moto for every case: each setup costs more than the cases themselves.
    for fields, expected in REFUSED_RESERVATIONS:
        status, body = _reserve(lambda_context, "save", SAVE, **fields)

        assert (status, "detail" in body) == (expected, True), (fields, body)
    reservations = table().query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": "U#1001#SAVES"},
    )
    assert reservations["Items"] == []


def test_reserve_without_assets_write_is_forbidden(lambda_context: Any) -> None:
    reader = make_principal(user_id=1001, scopes=frozenset({"assets.read"}))

    status, _ = _reserve(lambda_context, "save", SAVE, reader)

    assert status == 403


def test_reserve_answers_409_before_any_byte_moves_when_device_is_behind(lambda_context: Any) -> None:
    deck, handheld = _device(ALICE, "deck"), _device(ALICE, "handheld")
    _upload(lambda_context, "save", SAVE, slot="main", device_id=deck)

    status, body = _reserve(lambda_context, "save", SAVE + b"new", slot="main", device_id=handheld)

    assert (status, body) == (409, {"detail": "Slot has a newer save since your last sync"})


# --- complete ---------------------------------------------------------------------------------------


def test_complete_commits_the_bytes_as_a_save_and_removes_the_staged_object(lambda_context: Any) -> None:
    status, created = _reserve(lambda_context, "save", SAVE, emulator="snes9x")
    _put(created["save"], SAVE)

    status, save = _complete(lambda_context, "save", created["upload_id"])

    assert status == 200, save
    assert save["file_name"] == "zelda.srm"
    assert save["file_size_bytes"] == len(SAVE)
    assert save["content_hash"] == md5_hex(SAVE)
    assert save["emulator"] == "snes9x"
    assert _stored_bytes("save", save["id"]) == SAVE
    assert _versions(_staging_key(created["save"])) == []
    assert [s["id"] for s in _listed(lambda_context, "save")] == [save["id"]]


def test_complete_state_attaches_the_screenshot(lambda_context: Any) -> None:
    shot = b"\x89PNG" + b"\x00" * 60
    status, created = _reserve(
        lambda_context,
        "state",
        STATE,
        screenshot={"file_name": "zelda.png", "file_size_bytes": len(shot), "content_md5": md5_base64(shot)},
    )
    _put(created["state"], STATE)
    _put(created["screenshot"], shot)

    status, state = _complete(lambda_context, "state", created["upload_id"])

    assert status == 200, state
    assert state["screenshot"]["file_name"] == "zelda.png"
    assert state["screenshot"]["file_size_bytes"] == len(shot)
    assert _stored_bytes("state", state["id"]) == STATE
    assert _versions(_staging_key(created["screenshot"])) == []


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("prefix", [b"", b"MZ self-extractor stub " * 100], ids=["zip", "zip-behind-a-stub"])
def test_complete_hashes_a_zip_by_its_members(lambda_context: Any, prefix: bytes) -> None:
    data = prefix + _zip(**{"b.srm": b"second", "a.srm": b"first"})

    save = _upload(lambda_context, "save", data, file_name="saves.zip")

    assert save["content_hash"] == content_hash(data)
    assert save["content_hash"] != md5_hex(data)


@pytest.mark.parametrize(
    ("sent", "detail"),
    [(SAVE[:-1] + b"!", "does not match its Content-MD5"), (SAVE + b"!", "bytes, 6000 were reserved")],
)
def test_complete_refuses_other_bytes_commits_nothing_and_drops_them(
    lambda_context: Any, sent: bytes, detail: str
) -> None:
    status, created = _reserve(lambda_context, "save", SAVE)
    # moto does not enforce what the URL signs (S3 would refuse this PUT): complete must catch it.
    requests.put(created["save"]["url"], data=sent, timeout=30)

    status, body = _complete(lambda_context, "save", created["upload_id"])

    assert status == 422
    assert detail in body["detail"]
    assert _listed(lambda_context, "save") == []
    assert _versions(_staging_key(created["save"])) == []
    never_copied = s3_client().list_object_versions(Bucket=TEST_BUCKET, Prefix="users/")
    assert never_copied.get("Versions", []) == never_copied.get("DeleteMarkers", []) == []


def test_complete_after_a_refusal_accepts_the_right_bytes(lambda_context: Any) -> None:
    status, created = _reserve(lambda_context, "save", SAVE)
    requests.put(created["save"]["url"], data=b"x" * len(SAVE), timeout=30)
    assert _complete(lambda_context, "save", created["upload_id"])[0] == 422

    _put(created["save"], SAVE)
    status, save = _complete(lambda_context, "save", created["upload_id"])

    assert status == 200
    assert _stored_bytes("save", save["id"]) == SAVE


def test_complete_commits_the_version_it_checked_though_the_key_changes_meanwhile(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, created = _reserve(lambda_context, "save", SAVE)
    _put(created["save"], SAVE)
    read = storage.iter_object

    def read_then_race(key: str, version_id: str | None = None) -> Any:
        yield from read(key, version_id)
        requests.put(created["save"]["url"], data=b"x" * len(SAVE), timeout=30)  # a late, wrong PUT

    monkeypatch.setattr(storage, "iter_object", read_then_race)

    status, save = _complete(lambda_context, "save", created["upload_id"])

    assert status == 200, save
    assert _stored_bytes("save", save["id"]) == SAVE


def test_complete_before_the_put_is_refused(lambda_context: Any) -> None:
    _, created = _reserve(lambda_context, "save", SAVE)

    status, body = _complete(lambda_context, "save", created["upload_id"])

    assert (status, body) == (422, {"detail": "File has not been uploaded"})


def test_complete_refuses_a_missing_screenshot(lambda_context: Any) -> None:
    _, created = _reserve(
        lambda_context,
        "state",
        STATE,
        screenshot={"file_name": "s.png", "file_size_bytes": 3, "content_md5": md5_base64(b"png")},
    )
    _put(created["state"], STATE)

    status, body = _complete(lambda_context, "state", created["upload_id"])

    assert (status, body) == (422, {"detail": "Screenshot has not been uploaded"})
    assert _listed(lambda_context, "state") == []


def test_complete_twice_answers_the_same_record(lambda_context: Any) -> None:
    _, created = _reserve(lambda_context, "save", SAVE, slot="main")
    _put(created["save"], SAVE)

    first = _complete(lambda_context, "save", created["upload_id"])
    second = _complete(lambda_context, "save", created["upload_id"])

    assert first[0] == second[0] == 200
    assert first[1] == second[1]
    assert len(_listed(lambda_context, "save")) == 1


def test_complete_by_someone_else_or_for_the_other_kind_is_404(lambda_context: Any) -> None:
    _, created = _reserve(lambda_context, "save", SAVE)
    _put(created["save"], SAVE)

    assert _complete(lambda_context, "save", created["upload_id"], BOB) == (
        404,
        {"detail": "Upload not found"},
    )
    assert _complete(lambda_context, "state", created["upload_id"])[0] == 404
    assert _complete(lambda_context, "save", "no-such-upload")[0] == 404
    assert _complete(lambda_context, "save", created["upload_id"])[0] == 200


def test_complete_after_expiry_is_410_even_before_ttl_deletes_it(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, created = _reserve(lambda_context, "save", SAVE)
    _put(created["save"], SAVE)
    later = utcnow() + timedelta(seconds=3601)
    monkeypatch.setattr(uploads, "utcnow", lambda: later)

    status, body = _complete(lambda_context, "save", created["upload_id"])

    assert status == 410, body
    assert _listed(lambda_context, "save") == []


def test_reservation_ttl_follows_the_setting(lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsaves.settings import get_settings

    monkeypatch.setenv("UPLOAD_RESERVATION_TTL_SECONDS", "120")
    get_settings.cache_clear()
    _, created = _reserve(lambda_context, "save", SAVE)
    _put(created["save"], SAVE)
    monkeypatch.setattr(uploads, "utcnow", lambda: utcnow() + timedelta(seconds=121))

    assert "X-Amz-Expires=120" in created["save"]["url"]
    assert _complete(lambda_context, "save", created["upload_id"])[0] == 410


def test_complete_waits_for_a_concurrent_completer_then_answers_409(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, created = _reserve(lambda_context, "save", SAVE)
    _put(created["save"], SAVE)
    now = utcnow()
    assert uploads.uploads_repository().claim(created["upload_id"], ALICE.user_id, "other", now, now)
    monkeypatch.setattr(uploads, "WAIT_FOR_OTHER_SECONDS", 0.3)

    status, body = _complete(lambda_context, "save", created["upload_id"])

    assert status == 409
    assert "being completed" in body["detail"]
    assert _listed(lambda_context, "save") == []


def test_complete_takes_over_a_claim_abandoned_past_the_lease(lambda_context: Any) -> None:
    _, created = _reserve(lambda_context, "save", SAVE)
    _put(created["save"], SAVE)
    long_ago = utcnow() - uploads.CLAIM_LEASE - timedelta(seconds=1)
    assert uploads.uploads_repository().claim(created["upload_id"], ALICE.user_id, "dead", long_ago, long_ago)

    status, save = _complete(lambda_context, "save", created["upload_id"])

    assert status == 200
    assert _stored_bytes("save", save["id"]) == SAVE


def test_complete_rechecks_the_conflict_guard_and_fails_for_good(lambda_context: Any) -> None:
    deck, handheld = _device(ALICE, "deck"), _device(ALICE, "handheld")
    _upload(lambda_context, "save", SAVE, slot="main", device_id=deck)
    synced, _ = _download_url(  # the handheld catches up with the slot: its reservation passes the guard
        lambda_context, "save", _listed(lambda_context, "save")[0]["id"], query={"device_id": handheld}
    )
    assert synced == 200
    status, created = _reserve(lambda_context, "save", SAVE + b"2", slot="main", device_id=handheld)
    assert status == 201, created
    _put(created["save"], SAVE + b"2")
    _upload(lambda_context, "save", SAVE + b"3", slot="main", device_id=deck)  # the slot moves on meanwhile

    first = _complete(lambda_context, "save", created["upload_id"])
    again = _complete(lambda_context, "save", created["upload_id"])

    assert first == (409, {"detail": "Slot has a newer save since your last sync"})
    assert again == first
    assert len(_listed(lambda_context, "save")) == 2
    assert _versions(_staging_key(created["save"])) == []


def test_direct_and_multipart_uploads_give_equal_records(lambda_context: Any) -> None:
    boundary = "cloudsavesboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="saveFile"; filename="zelda.srm"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + SAVE
        + f"\r\n--{boundary}--\r\n".encode()
    )
    event = api_event(
        "POST",
        "/api/saves",
        principal=BOB,
        query={"rom_id": str(ROM_ID), "emulator": "snes9x"},
        body=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    status, multipart = _call("upload_save", event, lambda_context)
    assert status == 200, multipart

    direct = _upload(lambda_context, "save", SAVE, emulator="snes9x")

    differing = {"id", "user_id", "created_at", "updated_at", "file_path", "full_path", "download_path"}
    assert {k: v for k, v in direct.items() if k not in differing} == {
        k: v for k, v in multipart.items() if k not in differing
    }
    assert direct["file_path"] == multipart["file_path"].replace(str(BOB.user_id), str(ALICE.user_id))


# --- download-url -----------------------------------------------------------------------------------


def test_download_url_serves_the_bytes_named_as_the_file(lambda_context: Any) -> None:
    state = _upload(lambda_context, "state", STATE)

    status, body = _download_url(lambda_context, "state", state["id"])

    assert status == 200, body
    assert body["file_size_bytes"] == len(STATE)
    assert body["content_hash"] == md5_hex(STATE)
    fetched = requests.get(body["url"], timeout=30)
    assert fetched.content == STATE
    assert 'filename="zelda.state"' in fetched.headers["Content-Disposition"]


def test_download_url_for_another_users_private_save_is_404_and_public_is_served(lambda_context: Any) -> None:
    save = _upload(lambda_context, "save", SAVE)

    assert _download_url(lambda_context, "save", save["id"], BOB)[0] == 404
    event = api_event(
        "PUT",
        f"/api/saves/{save['id']}/visibility",
        route="/api/saves/{id}/visibility",
        principal=ALICE,
        body={"is_public": True},
        path_params={"id": str(save["id"])},
    )
    assert _call("set_save_visibility", event, lambda_context)[0] == 200
    status, body = _download_url(lambda_context, "save", save["id"], BOB)
    assert status == 200
    assert requests.get(body["url"], timeout=30).content == SAVE


def test_download_url_with_a_device_marks_it_synced(lambda_context: Any) -> None:
    deck = _device(ALICE, "deck")
    save = _upload(lambda_context, "save", SAVE, slot="main")

    status, _ = _download_url(lambda_context, "save", save["id"], query={"device_id": deck})

    assert status == 200
    syncs = table().get_item(Key={"pk": f"SAVE#{save['id']}", "sk": "PROFILE"})["Item"]["syncs"]
    assert syncs[deck]["last_synced_at"] == save["updated_at"]
    assert _download_url(lambda_context, "save", save["id"], query={"device_id": "nope"})[0] == 404


def test_presigned_get_expires_with_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsaves.settings import get_settings

    monkeypatch.setenv("PRESIGNED_URL_TTL_SECONDS", "90")
    get_settings.cache_clear()

    presigned = storage.presigned_get("users/1/saves/x/a.srm", "a.srm")

    assert "X-Amz-Expires=90" in presigned.url
    assert abs((presigned.expires_at - utcnow()).total_seconds() - 90) < 5


def test_overwrite_keeps_the_previous_bytes_as_a_noncurrent_version(lambda_context: Any) -> None:
    first = _upload(lambda_context, "save", SAVE)
    first_key = table().get_item(Key={"pk": f"SAVE#{first['id']}", "sk": "PROFILE"})["Item"]["object_key"]

    second = _upload(lambda_context, "save", SAVE + b"v2", overwrite=True)

    assert second["id"] == first["id"]  # same name, no slot: updated in place
    assert _stored_bytes("save", second["id"]) == SAVE + b"v2"
    kept = [v for v in _versions(first_key) if "Size" in v]
    assert len(kept) == 1 and not kept[0]["IsLatest"]  # a delete marker on top, the bytes underneath
    old = s3_client().get_object(Bucket=TEST_BUCKET, Key=first_key, VersionId=kept[0]["VersionId"])
    assert old["Body"].read() == SAVE


SAMPLE_EVENTS = [
    ("create_state_upload", "with_screenshot", 201),
    ("create_save_upload", "slot_with_device", 404),  # the event's device is not registered here
    ("complete_save_upload", "complete", 404),
    ("complete_state_upload", "complete", 404),
    ("create_save_download_url", "with_device", 404),
    ("create_state_download_url", "owner", 404),
]


def test_sample_events_are_served(lambda_context: Any) -> None:
    for function_dir, case, status in SAMPLE_EVENTS:
        got, body = _call(function_dir, load_event(f"{function_dir}/{case}.json"), lambda_context)

        assert got == status, (function_dir, case, body)


def test_complete_refused_for_scope_stays_completable(lambda_context: Any) -> None:
    deck = _device(ALICE, "deck")
    _, created = _reserve(lambda_context, "save", SAVE, device_id=deck)
    _put(created["save"], SAVE)
    no_devices = make_principal(user_id=ALICE.user_id, scopes=frozenset({"assets.read", "assets.write"}))

    refused = _complete(lambda_context, "save", created["upload_id"], no_devices)
    status, save = _complete(lambda_context, "save", created["upload_id"])

    assert refused[0] == 403
    assert status == 200, save
    assert save["origin_device_id"] == deck


def test_complete_that_died_after_committing_is_finished_by_its_retry(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # overwrite=true turns dedup off: without the fixed record id, a retry would add a second save.
    _, created = _reserve(lambda_context, "save", SAVE, slot="main", overwrite=True)
    _put(created["save"], SAVE)
    real_finish = uploads.UploadsRepository.finish

    def die_once(self: Any, *args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(uploads.UploadsRepository, "finish", real_finish)
        raise RuntimeError("the Lambda died between the commit and marking the upload done")

    monkeypatch.setattr(uploads.UploadsRepository, "finish", die_once)
    status, _ = _complete(lambda_context, "save", created["upload_id"])
    assert status == 500
    monkeypatch.setattr(uploads, "CLAIM_LEASE", timedelta(0))  # the dead claim's lease has run out

    status, save = _complete(lambda_context, "save", created["upload_id"])

    assert status == 200
    listed = api_event("GET", "/api/saves", principal=ALICE, query={"rom_id": str(ROM_ID)})
    assert [s["id"] for s in _call("list_saves", listed, lambda_context)[1]] == [save["id"]]
    assert _complete(lambda_context, "save", created["upload_id"]) == (200, save)
