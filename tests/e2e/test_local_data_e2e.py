"""The local stack keeps its data across a restart (SIGTERM, as Ctrl-C): items, object bytes and the JWT
secret (the tokens it signed stay valid); --fresh starts empty."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.assets_support import multipart
from tests.e2e.conftest import local_stack_process

KEEP_SECRET = ("CLOUDSAVES_JWT_SECRET",)  # unset: the stack keeps a secret of its own in the data directory


@pytest.mark.skipif(bool(os.environ.get("AWS_SAM_STACK_NAME")), reason="restarts the local stack")
def test_local_data_e2e_a_restart_keeps_everything_acknowledged_and_fresh_starts_empty(
    tmp_path: Path,
) -> None:
    data_dir, data = tmp_path / "data", os.urandom(4096)
    with local_stack_process(data_dir, unset=KEEP_SECRET) as (stack, _):
        admin = (stack.admin_username, stack.admin_password)
        token = requests.post(
            f"{stack.base_url}/api/token", data={"username": admin[0], "password": admin[1]}
        )
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        rom = {"name": "Kept", "fs_name": "kept.gba", "platform_id": 7, "platform_slug": "gba",
               "platform_fs_slug": "gba"}  # fmt: skip
        assert requests.put(f"{stack.base_url}/api/roms/77", json=rom, headers=bearer).status_code == 200
        body, content_type = multipart({"saveFile": ("kept.srm", data)})
        uploaded = requests.post(
            f"{stack.base_url}/api/saves",
            params={"rom_id": 77, "slot": "main"},
            data=body,
            headers={**bearer, "Content-Type": content_type},
        )
        assert uploaded.status_code == 200, uploaded.text  # RomM answers 200
        save_id = uploaded.json()["id"]
    # stopped with SIGTERM right after the acknowledgement

    with local_stack_process(data_dir, unset=KEEP_SECRET) as (stack, output):
        assert any("object versions restored" in line and "1 object" in line for line in output.lines)
        content = requests.get(f"{stack.base_url}/api/saves/{save_id}/content", headers=bearer)  # old token
        assert (content.status_code, content.content) == (200, data)
        listed = requests.get(f"{stack.base_url}/api/saves", params={"rom_id": 77}, headers=bearer).json()
        assert [save["id"] for save in listed] == [save_id]

    with local_stack_process(data_dir, "--fresh", unset=KEEP_SECRET) as (stack, _):
        gone = requests.get(f"{stack.base_url}/api/saves/{save_id}/content", auth=admin)
        assert gone.status_code == 404
