"""Direct uploads and downloads over HTTP against the local stack: the bytes go to and from moto's S3
through presigned URLs, never through the API (API.md section 7)."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from cloudsaves.hashing import md5_base64
from tests.e2e.conftest import new_user

BIG = 20 * 1024 * 1024


@pytest.fixture
def user(local_stack: Any, http: requests.Session) -> tuple[str, str]:
    return new_user(local_stack, http, "direct")


@pytest.fixture
def rom_id(local_stack: Any, http: requests.Session) -> int:
    rom = uuid.uuid4().int % 10**9 + 1
    upserted = http.put(
        f"{local_stack.base_url}/api/roms/{rom}",
        json={
            "name": "Metroid",
            "fs_name": "metroid.gba",
            "platform_id": 5,
            "platform_slug": "gba",
            "platform_fs_slug": "gba",
        },
        auth=(local_stack.admin_username, local_stack.admin_password),
    )
    assert upserted.status_code == 200, upserted.text
    return rom


def _reserve(stack: Any, http: requests.Session, auth: Any, kind: str, data: bytes, **fields: Any) -> Any:
    body = {
        "file_name": f"metroid.{'sav' if kind == 'save' else 'state'}",
        "file_size_bytes": len(data),
        "content_md5": md5_base64(data),
        **fields,
    }
    return http.post(f"{stack.base_url}/api/{kind}s/uploads", json=body, auth=auth)


def _put(presigned: dict[str, Any], data: bytes) -> None:
    sent = requests.put(presigned["url"], data=data, headers=presigned["headers"], timeout=120)
    assert sent.status_code == 200, sent.text


def _complete(stack: Any, http: requests.Session, auth: Any, kind: str, upload_id: str) -> requests.Response:
    return http.post(f"{stack.base_url}/api/{kind}s/uploads/{upload_id}/complete", auth=auth, timeout=60)


def _upload(stack: Any, http: requests.Session, auth: Any, kind: str, data: bytes, **fields: Any) -> dict:
    reserved = _reserve(stack, http, auth, kind, data, **fields)
    assert reserved.status_code == 201, reserved.text
    _put(reserved.json()[kind], data)
    completed = _complete(stack, http, auth, kind, reserved.json()["upload_id"])
    assert completed.status_code == 200, completed.text
    return completed.json()


def _s3(stack: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


def _versions(stack: Any, presigned: dict[str, Any]) -> list[dict[str, Any]]:
    bucket, key = unquote(urlsplit(presigned["url"]).path).lstrip("/").split("/", 1)
    page = _s3(stack).list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]


def test_direct_state_and_save_round_trip_byte_identical(
    local_stack: Any, http: requests.Session, user: tuple[str, str], rom_id: int
) -> None:
    state_bytes = os.urandom(BIG)
    save_bytes = b"SRAM" + os.urandom(8 * 1024)

    state = _upload(local_stack, http, user, "state", state_bytes, rom_id=rom_id, emulator="mgba")
    save = _upload(local_stack, http, user, "save", save_bytes, rom_id=rom_id, emulator="mgba", slot="auto")

    assert (state["file_size_bytes"], state["content_hash"]) == (BIG, hashlib.md5(state_bytes).hexdigest())
    assert save["content_hash"] == hashlib.md5(save_bytes).hexdigest()
    for kind, record, data in (("state", state, state_bytes), ("save", save, save_bytes)):
        link = http.post(f"{local_stack.base_url}/api/{kind}s/{record['id']}/download-url", auth=user)
        assert link.status_code == 200, link.text
        assert link.json()["file_size_bytes"] == len(data)
        fetched = requests.get(link.json()["url"], timeout=120)  # no Authorization: the URL is the credential
        assert fetched.content == data
        assert record["file_name"] in fetched.headers["Content-Disposition"]
    small = http.get(
        f"{local_stack.base_url}/api/saves/{save['id']}/content", auth=user, allow_redirects=False
    )
    assert (small.status_code, small.content) == (
        200,
        save_bytes,
    )  # small files inline, as RomM clients expect
    big = http.get(
        f"{local_stack.base_url}/api/states/{state['id']}/content", auth=user, allow_redirects=False
    )
    assert big.status_code in (302, 307)
    assert requests.get(big.headers["Location"], timeout=120).content == state_bytes


def test_direct_upload_with_wrong_bytes_commits_nothing_and_drops_them(
    local_stack: Any, http: requests.Session, user: tuple[str, str], rom_id: int
) -> None:
    if not local_stack.moto_url:
        pytest.skip("moto only: real S3 refuses the wrong bytes at the PUT already")
    data = os.urandom(64 * 1024)
    reserved = _reserve(local_stack, http, user, "state", data, rom_id=rom_id).json()
    # moto accepts what S3 would refuse (the URL signs size and MD5), so complete must catch it.
    requests.put(reserved["state"]["url"], data=os.urandom(len(data)), timeout=30)

    refused = _complete(local_stack, http, user, "state", reserved["upload_id"])

    assert refused.status_code == 422
    assert "Content-MD5" in refused.json()["detail"]
    assert _versions(local_stack, reserved["state"]) == []
    assert http.get(f"{local_stack.base_url}/api/states", params={"rom_id": rom_id}, auth=user).json() == []


def test_direct_complete_concurrently_commits_one_record(
    local_stack: Any, user: tuple[str, str], rom_id: int, http: requests.Session
) -> None:
    data = os.urandom(256 * 1024)
    reserved = _reserve(local_stack, http, user, "save", data, rom_id=rom_id, slot="race").json()
    _put(reserved["save"], data)
    answers: list[requests.Response] = []

    def complete() -> None:
        with requests.Session() as session:
            answers.append(_complete(local_stack, session, user, "save", reserved["upload_id"]))

    threads = [threading.Thread(target=complete) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.append(_complete(local_stack, http, user, "save", reserved["upload_id"]))

    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    listed = http.get(f"{local_stack.base_url}/api/saves", params={"rom_id": rom_id}, auth=user).json()
    assert [s["id"] for s in listed] == [answers[0].json()["id"]]


def test_direct_reservation_is_409_before_any_byte_moves(
    local_stack: Any, http: requests.Session, user: tuple[str, str], rom_id: int
) -> None:
    devices = [
        http.post(
            f"{local_stack.base_url}/api/devices", json={"name": name, "allow_duplicate": True}, auth=user
        )
        for name in ("deck", "handheld")
    ]
    deck, handheld = (d.json()["device_id"] for d in devices)
    _upload(local_stack, http, user, "save", b"first", rom_id=rom_id, slot="main", device_id=deck)

    refused = _reserve(
        local_stack, http, user, "save", b"second", rom_id=rom_id, slot="main", device_id=handheld
    )

    assert refused.status_code == 409
    assert refused.json() == {"detail": "Slot has a newer save since your last sync"}


def test_direct_and_multipart_uploads_give_equal_records(
    local_stack: Any, http: requests.Session, rom_id: int
) -> None:
    data = b"\x01\x02 battery save " * 64
    users = [new_user(local_stack, http, "direct") for _ in range(2)]

    multipart = http.post(
        f"{local_stack.base_url}/api/saves",
        params={"rom_id": rom_id, "emulator": "mgba", "slot": "quick"},
        files={"saveFile": ("metroid.sav", data)},
        auth=users[0],
    )
    direct = _upload(local_stack, http, users[1], "save", data, rom_id=rom_id, emulator="mgba", slot="quick")

    assert multipart.status_code == 200, multipart.text
    same = {
        "rom_id",
        "file_name_no_tags",
        "file_extension",
        "file_size_bytes",
        "emulator",
        "slot",
        "content_hash",
        "is_public",
        "screenshot",
        "missing_from_fs",
        "device_syncs",
        "origin_device_id",
    }
    assert {k: direct[k] for k in same} == {k: multipart.json()[k] for k in same}
    assert direct["file_name"].startswith("metroid [") and multipart.json()["file_name"].startswith(
        "metroid ["
    )
