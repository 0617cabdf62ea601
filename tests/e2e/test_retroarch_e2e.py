"""The real RetroArch 1.20 (headless, built by ../shared/tools/retroarch/build.sh) against the door.

Each `Device` is one RetroArch install (its own saves, states and sync state); `sync()` runs one real
Cloud Sync with `sync_once.sh`. The RetroArch tests skip only when RetroArch cannot be built here.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT, RunningStack, new_user

HARNESS = ROOT.parent / "shared" / "tools" / "retroarch"
RETROARCH_BIN = Path(os.environ.get("RETROARCH_BIN", "/tmp/retroarch-build/bin/retroarch"))
BUILD_TIMEOUT_SECONDS = 900
MAX_FILE_BYTES = 4_700_000  # settings.cloud_sync_max_file_bytes


@pytest.fixture(scope="session")
def retroarch() -> Path:
    """The headless RetroArch binary, built on first use (build.sh is idempotent, ~2 min cold)."""
    build = HARNESS / "build.sh"
    if not build.is_file() or not (HARNESS / "sync_once.sh").is_file():
        pytest.skip(f"RetroArch cannot be built or run: the harness {HARNESS} is not beside this repository")
    if RETROARCH_BIN.is_file() and os.access(RETROARCH_BIN, os.X_OK):
        return RETROARCH_BIN
    result = subprocess.run(
        [str(build)], capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0 or not RETROARCH_BIN.is_file():
        pytest.skip(
            f"RetroArch cannot be built here (build.sh exit {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return RETROARCH_BIN


@pytest.fixture
def door(local_stack: RunningStack, retroarch: Path) -> str:
    if not local_stack.cloud_sync_url.startswith("http://127.0.0.1"):
        pytest.skip("the headless RetroArch build has no TLS: it syncs against the local stack only")
    return local_stack.cloud_sync_url


@dataclass
class Device:
    """One RetroArch install: its saves/states folders and its sync state (manifest.local)."""

    root: Path
    door: str
    username: str
    password: str

    def __post_init__(self) -> None:
        for folder in (self.saves, self.states, self.config):
            folder.mkdir(parents=True, exist_ok=True)

    saves = property(lambda self: self.root / "saves")
    states = property(lambda self: self.root / "states")
    config = property(lambda self: self.root / "config")

    def sync(self, **knobs: str) -> tuple[int, str]:
        """One real RetroArch Cloud Sync: (sync_once.sh's exit code, RetroArch's summary line).
        `knobs`: sync_once.sh's environment switches (RA_DESTRUCTIVE, RA_SYNC_CONFIGS)."""
        result = subprocess.run(
            [str(HARNESS / "sync_once.sh"), self.door, self.username, self.password,
             str(self.saves), str(self.states), str(self.config)],
            capture_output=True, text=True, timeout=90, check=False,
            env={**os.environ, "RETROARCH_BIN": str(RETROARCH_BIN), "RA_TIMEOUT": "45", **knobs},
        )  # fmt: skip
        return result.returncode, (result.stdout + result.stderr).strip()

    def synced(self, **knobs: str) -> str:
        code, summary = self.sync(**knobs)
        assert code == 0, summary
        return summary


@pytest.fixture
def player(local_stack: RunningStack, http: requests.Session) -> tuple[str, str, str, int]:
    """A user and a ROM of their own (the stem is unique, so tests sharing the stack never collide)."""
    username, password = new_user(local_stack, http, "ra")
    stem = f"Pokemon Emerald {uuid.uuid4().hex[:8]}"
    rom_id = int(uuid.uuid4().int % 10**12) + 1
    response = http.put(
        f"{local_stack.base_url}/api/roms/{rom_id}",
        json={"name": stem, "fs_name": f"{stem}.gba", "platform_id": 7, "platform_slug": "gba",
              "platform_fs_slug": "gba"},
        auth=(local_stack.admin_username, local_stack.admin_password),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return username, password, stem, rom_id


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _saves(stack: RunningStack, http: requests.Session, auth: tuple[str, str]) -> list[dict[str, object]]:
    response = http.get(f"{stack.base_url}/api/saves", auth=auth)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_retroarch_two_devices_converge_and_a_delete_reaches_the_other(
    door: str,
    local_stack: RunningStack,
    http: requests.Session,
    player: tuple[str, str, str, int],
    tmp_path: Path,
) -> None:
    username, password, stem, _ = player
    a, b = Device(tmp_path / "a", door, username, password), Device(tmp_path / "b", door, username, password)
    save, state = f"mGBA/{stem}.srm", f"mGBA/{stem}.state"
    (a.saves / "mGBA").mkdir()
    (a.states / "mGBA").mkdir()
    (a.saves / "Snes9x").mkdir()
    (a.saves / save).write_bytes(b"emerald v1" + bytes(range(256)))
    (a.states / state).write_bytes(os.urandom(20_000))
    (a.saves / "Snes9x/No Such Game (USA).srm").write_bytes(b"\x00plain file\xff")

    assert "3 files uploaded" in a.synced()
    assert "3 files downloaded" in b.synced()
    for relative in (f"saves/{save}", f"states/{state}", "saves/Snes9x/No Such Game (USA).srm"):
        assert (b.root / relative).read_bytes() == (a.root / relative).read_bytes(), relative

    # A plays on: B gets the new save; the mapped save reached the ordinary API as a save of the ROM
    (a.saves / save).write_bytes(b"emerald v2")
    assert "1 files uploaded" in a.synced()
    assert "1 files downloaded" in b.synced()
    assert (b.saves / save).read_bytes() == b"emerald v2"
    newest = max(_saves(local_stack, http, (username, password)), key=lambda s: str(s["updated_at"]))
    assert (newest["slot"], newest["emulator"]) == ("autosave", "mGBA")
    content = http.get(f"{local_stack.base_url}/api/saves/{newest['id']}/content", auth=(username, password))
    assert content.content == b"emerald v2"

    # A deletes the save: B's copy goes (to RetroArch's local backups), the bytes stay recoverable
    (a.saves / save).unlink()
    a.synced()
    b.synced()
    assert not (b.saves / save).exists()
    manifest = http.get(f"{door}manifest.server", auth=(username, password)).json()
    moved = [row["path"] for row in manifest if row["path"].startswith(f"deleted/saves/{save}-")]
    assert {"path": f"saves/{save}", "hash": ""} in manifest and len(moved) == 1
    assert http.get(f"{door}{moved[0]}", auth=(username, password)).content == b"emerald v2"
    assert len(_saves(local_stack, http, (username, password))) == 2  # both versions, in the history


def test_retroarch_gets_an_api_upload_and_its_save_reaches_the_api(
    door: str,
    local_stack: RunningStack,
    http: requests.Session,
    player: tuple[str, str, str, int],
    tmp_path: Path,
) -> None:
    username, password, stem, rom_id = player
    uploaded = http.post(
        f"{local_stack.base_url}/api/saves",
        params={"rom_id": rom_id, "slot": "autosave", "emulator": "mGBA"},
        files={"saveFile": (f"{stem}.srm", b"made on a handheld")},
        auth=(username, password),
    )
    assert uploaded.status_code == 200, uploaded.text
    device = Device(tmp_path / "c", door, username, password)

    assert "1 files downloaded" in device.synced()
    assert (device.saves / f"mGBA/{stem}.srm").read_bytes() == b"made on a handheld"

    (device.saves / f"mGBA/{stem}.srm").write_bytes(b"continued in retroarch")
    assert "1 files uploaded" in device.synced()
    latest = http.get(
        f"{local_stack.base_url}/api/saves/summary", params={"rom_id": rom_id}, auth=(username, password)
    ).json()
    save_id = latest["slots"][0]["latest"]["id"]
    content = http.get(f"{local_stack.base_url}/api/saves/{save_id}/content", auth=(username, password))
    assert content.content == b"continued in retroarch"


def test_retroarch_wrong_credentials_change_nothing_and_users_see_only_their_files(
    door: str,
    local_stack: RunningStack,
    http: requests.Session,
    player: tuple[str, str, str, int],
    tmp_path: Path,
) -> None:
    username, password, stem, _ = player
    owner = Device(tmp_path / "owner", door, username, password)
    (owner.saves / "mGBA").mkdir()
    (owner.saves / f"mGBA/{stem}.srm").write_bytes(b"mine")
    owner.synced()

    intruder = Device(tmp_path / "intruder", door, username, "wrong-password")
    (intruder.saves / "mGBA").mkdir()
    (intruder.saves / f"mGBA/{stem}.srm").write_bytes(b"overwritten?")
    code, summary = intruder.sync()
    assert code == 2 and "begin failed" in summary

    other_user, other_password = new_user(local_stack, http, "ra-other")
    stranger = Device(tmp_path / "stranger", door, other_user, other_password)
    assert "0 files downloaded" in stranger.synced()
    assert list(stranger.saves.rglob("*.srm")) == []
    assert http.get(f"{door}manifest.server", auth=(other_user, other_password)).json() == []
    manifest = http.get(f"{door}manifest.server", auth=(username, password)).json()
    assert manifest == [{"path": f"saves/mGBA/{stem}.srm", "hash": hashlib.md5(b"mine").hexdigest()}]


def test_retroarch_door_bad_input_is_4xx_and_the_size_limit_holds_both_ways(
    door: str, local_stack: RunningStack, http: requests.Session, player: tuple[str, str, str, int]
) -> None:
    username, password, stem, _ = player
    auth = (username, password)
    path = f"{door}saves/mGBA/{stem}.srm"
    largest = os.urandom(MAX_FILE_BYTES)
    assert http.put(path, data=largest, auth=auth).status_code == 201
    assert http.get(path, auth=auth).content == largest  # the base64 of it fits Lambda's 6 MB, both ways

    too_big = http.put(path, data=largest + b"x", auth=auth)
    unknown = http.request("PROPFIND", door, auth=auth)
    hostile = http.put(f"{door}saves/%2E%2E/%2E%2E/escape.srm", data=b"x", auth=auth)
    bad_move = http.request("MOVE", path, headers={"Destination": "http://elsewhere/x"}, auth=auth)
    garbage = http.put(f"{door}manifest.server", data=b"{not json", auth=auth)
    missing = http.get(f"{door}saves/mGBA/nothing here.srm", auth=auth)

    assert (too_big.status_code, unknown.status_code, hostile.status_code) == (413, 405, 400)
    assert (bad_move.status_code, garbage.status_code) == (400, 400)
    assert (missing.status_code, missing.content) == (404, b"")
    assert "Location" not in too_big.headers and "Location" not in missing.headers
    manifest = http.get(f"{door}manifest.server", auth=auth).json()
    assert manifest == [{"path": f"saves/mGBA/{stem}.srm", "hash": hashlib.md5(largest).hexdigest()}]


def test_retroarch_with_a_client_token_syncs_configs_and_deletes_destructively(
    door: str,
    local_stack: RunningStack,
    http: requests.Session,
    player: tuple[str, str, str, int],
    tmp_path: Path,
) -> None:
    username, password, stem, _ = player
    token = http.post(
        f"{local_stack.base_url}/api/client-tokens",
        json={"name": "RetroArch", "scopes": ["assets.read", "assets.write"]},
        auth=(username, password),
    ).json()["raw_token"]
    a, b = Device(tmp_path / "a", door, username, token), Device(tmp_path / "b", door, username, token)
    (a.saves / "mGBA").mkdir()
    (a.saves / f"mGBA/{stem}.srm").write_bytes(b"to be deleted")
    (a.config / "config/mGBA").mkdir(parents=True)  # RetroArch's config folder syncs as config/
    (a.config / "config/mGBA/mGBA.opt").write_bytes(b'mgba_sgb_borders = "ON"\n')
    a.synced(RA_SYNC_CONFIGS="1")
    b.synced(RA_SYNC_CONFIGS="1")
    assert (b.config / "config/mGBA/mGBA.opt").read_bytes() == b'mgba_sgb_borders = "ON"\n'

    (a.saves / f"mGBA/{stem}.srm").unlink()
    a.synced(RA_DESTRUCTIVE="1")  # DELETE instead of MOVE
    b.synced(RA_DESTRUCTIVE="1")

    assert not (b.saves / f"mGBA/{stem}.srm").exists()
    manifest = http.get(f"{door}manifest.server", auth=(username, token)).json()
    assert {"path": f"saves/mGBA/{stem}.srm", "hash": ""} in manifest
    (version,) = _saves(local_stack, http, (username, password))  # still in the history
    content = http.get(f"{local_stack.base_url}/api/saves/{version['id']}/content", auth=(username, password))
    assert content.content == b"to be deleted"
