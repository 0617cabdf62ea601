"""Attacker cases over HTTP against the local stack: each a 4xx with a `detail`, never a 500."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from typing import Any

import pytest
import requests

from tests.assets_support import multipart
from tests.e2e.conftest import new_user

DEEP_JSON = "[" * 100_000


@pytest.fixture
def user(local_stack: Any, http: requests.Session) -> tuple[str, str]:
    return new_user(local_stack, http, "attacker")


@pytest.fixture
def rom_id(local_stack: Any, http: requests.Session) -> int:
    rom = random.randrange(10**9, 2 * 10**9)
    body = {
        "name": "Emerald",
        "fs_name": "e.gba",
        "platform_id": 7,
        "platform_slug": "gba",
        "platform_fs_slug": "gba",
    }
    response = http.put(
        f"{local_stack.base_url}/api/roms/{rom}",
        json=body,
        auth=(local_stack.admin_username, local_stack.admin_password),
    )
    assert response.status_code == 200, response.text
    return rom


def test_security_e2e_deep_json_is_401_without_credentials_and_400_with(local_stack, http, user):
    url = f"{local_stack.base_url}/api/devices"
    headers = {"Content-Type": "application/json"}

    anonymous = http.post(url, data=DEEP_JSON, headers={**headers, "Authorization": "Bearer not-a-token"})
    signed_in = http.post(url, data=DEEP_JSON, headers=headers, auth=user)

    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert signed_in.status_code == 400
    assert signed_in.json() == {"detail": "The JSON body is nested too deeply"}


def test_security_e2e_bodies_python_cannot_read_are_4xx(local_stack, http, user):
    base = local_stack.base_url
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    not_utf8 = http.post(f"{base}/api/token", data=b"username=a&password=\xff\xfe", headers=form)
    long_integer = http.post(
        f"{base}/api/devices",
        data='{"name": ' + "9" * 5000 + "}",
        headers={"Content-Type": "application/json"},
        auth=user,
    )
    not_json = http.post(f"{base}/api/devices", data="name=deck", headers=form, auth=user)

    assert (not_utf8.status_code, not_utf8.json()) == (
        400,
        {"detail": "The request body is not valid UTF-8 text"},
    )
    assert long_integer.status_code == 400 and "number too long" in long_integer.json()["detail"]
    assert not_json.status_code == 415 and not_json.json()["detail"].startswith("Expected a JSON body")


def test_security_e2e_filename_star_with_a_non_text_codec_is_400(local_stack, http, user, rom_id):
    body, content_type = multipart({"saveFile": ("x.srm", b"SAVE")})
    body = body.replace(b'filename="x.srm"', b"filename*=hex''6869.srm")

    response = http.post(
        f"{local_stack.base_url}/api/saves",
        params={"rom_id": rom_id},
        data=body,
        headers={"Content-Type": content_type},
        auth=user,
    )

    assert response.status_code == 400
    assert "unsupported charset" in response.json()["detail"]


def test_security_e2e_zip_bomb_is_hashed_as_plain_bytes(local_stack, http, user, rom_id):
    # Given a zip whose members declare 2.5 GB in all (the headers of the bzip2 bomb)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        for i in range(5):
            archive.writestr(f"m{i}.bin", b"\0" * 1024)
    bomb = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = bomb.find(signature)
        while start >= 0:
            bomb[start + offset : start + offset + 4] = (512 << 20).to_bytes(4, "little")
            start = bomb.find(signature, start + 4)
    body, content_type = multipart({"saveFile": ("bomb.zip", bytes(bomb))})

    response = http.post(
        f"{local_stack.base_url}/api/saves",
        params={"rom_id": rom_id},
        data=body,
        headers={"Content-Type": content_type},
        auth=user,
    )

    assert response.status_code == 200, response.text
    assert response.json()["content_hash"] == hashlib.md5(bytes(bomb)).hexdigest()


def test_security_e2e_unknown_device_is_romms_404(local_stack, http, user, rom_id):
    response = http.get(f"{local_stack.base_url}/api/saves", params={"device_id": "nope"}, auth=user)

    assert response.status_code == 404
    assert response.json() == {"detail": "Device with ID nope not found"}


def test_security_e2e_long_multibyte_password_signs_in(local_stack, http):
    username, password = f"mei-{random.randrange(10**9)}", "密" * 72
    created = http.post(
        f"{local_stack.base_url}/api/users",
        json={"username": username, "password": password},
        auth=(local_stack.admin_username, local_stack.admin_password),
    )
    assert created.status_code == 201, created.text

    token = http.post(f"{local_stack.base_url}/api/token", data={"username": username, "password": password})

    assert token.status_code == 200, token.text
