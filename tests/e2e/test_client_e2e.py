"""The `cloudsaves` client against the local stack: two devices (two config directories, two folders)
converge on the same bytes through upload, edit, conflict and delete; a 50 MB state moves with a
progress bar and a verified hash; a device pairs with the device-code flow.

Needs the sync protocol and device pairing (API.md section 10): skipped while their routes answer 404.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from cloudsaves_client import cli, login
from cloudsaves_client.api import CLIENT_SCOPES
from cloudsaves_client.config import Credentials
from tests.e2e.conftest import new_user


@pytest.fixture
def stack(local_stack: Any) -> Any:
    probe = requests.post(
        f"{local_stack.base_url}/api/sync/negotiate",
        json={"saves": []},
        auth=(local_stack.admin_username, local_stack.admin_password),
        timeout=30,
    )
    if probe.status_code == 404 and "Not Found" in probe.text:
        pytest.skip("the server has no sync protocol yet (POST /api/sync/negotiate answered 404)")
    return local_stack


@pytest.fixture
def game() -> str:
    """A ROM file name stem of this test's own (the catalog is shared by every test on the stack)."""
    return f"Chrono Trigger {uuid.uuid4().hex[:8]} (USA)"


@pytest.fixture
def user(local_stack: Any, http: requests.Session, game: str) -> tuple[str, str]:
    stack = local_stack
    username, password = new_user(stack, http, "client")
    rom_id = uuid.uuid4().int % 10**9 + 1
    rom = {
        "name": "Chrono Trigger",
        "fs_name": f"{game}.sfc",
        "platform_id": 1,
        "platform_slug": "snes",
        "platform_fs_slug": "snes",
    }
    admin = (stack.admin_username, stack.admin_password)
    assert http.put(f"{stack.base_url}/api/roms/{rom_id}", json=rom, auth=admin).status_code == 200
    return username, password


class Device:
    """One simulated device: its own config directory and save folder, driving `cloudsaves` itself."""

    def __init__(self, root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.config, self.folder, self.monkeypatch = (
            root / name / "config",
            root / name / "saves",
            monkeypatch,
        )
        self.folder.mkdir(parents=True)

    def run(self, *args: str, stdin: str = "") -> int:
        self.monkeypatch.setenv("CLOUDSAVES_CONFIG_DIR", str(self.config))
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return cli.main(list(args))

    def sync(self, *options: str) -> int:
        return self.run("sync", str(self.folder), "--progress", "never", *options)

    def files(self) -> dict[str, bytes]:
        """Every file of the folder but the client's own (backups, partial downloads)."""
        return {
            p.relative_to(self.folder).as_posix(): p.read_bytes()
            for p in self.folder.rglob("*")
            if p.is_file() and ".cloudsaves" not in p.parts
        }

    def backups(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted((self.folder / ".cloudsaves" / "backups").glob("*"))]


@pytest.fixture
def devices(
    stack: Any, user: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Device, Device]:
    deck, desktop = Device(tmp_path, "deck", monkeypatch), Device(tmp_path, "desktop", monkeypatch)
    for device in (deck, desktop):
        login_args = ("login", stack.base_url, "--username", user[0], "--password-stdin")
        assert device.run(*login_args, "--device-name", device.folder.parent.name, stdin=user[1] + "\n") == 0
    return deck, desktop


def test_two_devices_converge_through_upload_edit_conflict_and_delete(
    devices: tuple[Device, Device], game: str
) -> None:
    deck, desktop, save, state = *devices, f"{game}.srm", f"{game}.state1"
    (deck.folder / save).write_bytes(b"SRAM-1" * 1000)
    (deck.folder / state).write_bytes(os.urandom(300_000))

    assert deck.sync() == 0 and desktop.sync() == 0  # upload, then download
    assert desktop.files() == deck.files() and len(deck.files()) == 2

    (desktop.folder / save).write_bytes(b"SRAM-2" * 1000)  # an edit on the desktop
    assert desktop.sync() == 0 and deck.sync() == 0
    assert deck.files() == desktop.files() and deck.backups() == [b"SRAM-1" * 1000]

    (deck.folder / save).write_bytes(b"SRAM-deck" * 1000)  # both edit the same slot
    (desktop.folder / save).write_bytes(b"SRAM-desktop" * 1000)
    assert deck.sync() == 0
    assert desktop.sync() == 5  # the conflict is listed, nothing replaced
    assert (desktop.folder / save).read_bytes() == b"SRAM-desktop" * 1000
    assert desktop.sync("--prefer", "server") == 0
    assert desktop.files() == deck.files() and desktop.backups()[-1] == b"SRAM-desktop" * 1000

    (deck.folder / save).unlink()  # a delete on the deck reaches the desktop, which keeps a backup
    (deck.folder / state).unlink()
    assert deck.sync() == 0 and desktop.sync() == 0
    assert desktop.files() == deck.files() == {}
    assert desktop.sync() == 0 and deck.sync() == 0 and deck.files() == desktop.files() == {}  # stays deleted


def test_a_50_mb_state_transfers_with_a_progress_bar_and_a_verified_hash(
    devices: tuple[Device, Device], game: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deck, desktop, state = *devices, f"{game}.state"
    data = os.urandom(50 * 1024 * 1024)
    (deck.folder / state).write_bytes(data)
    deck.monkeypatch.setenv("COLUMNS", "160")

    assert deck.run("sync", str(deck.folder), "--progress", "always") == 0
    final = _last_frame(capsys.readouterr().err)
    assert re.search(rf"↑ {re.escape(state)} +━+ 100% 52\.4/52\.4 MB", final), final
    assert re.search(r"total \(1 files\) +━+ 100% 52\.4/52\.4 MB", final), final

    assert desktop.run("sync", str(desktop.folder), "--progress", "always") == 0
    assert re.search(rf"↓ {re.escape(state)} +━+ 100% 52\.4/52\.4 MB", _last_frame(capsys.readouterr().err))
    assert hashlib.md5((desktop.folder / state).read_bytes()).digest() == hashlib.md5(data).digest()


def _last_frame(terminal: str) -> str:
    """The bars as last drawn: rich redraws in place, so the final lines of the plain text."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal).replace("\r", "\n")
    return "\n".join(plain.splitlines()[-4:])


def test_pairing_with_the_device_code_flow(local_stack: Any, user: tuple[str, str], tmp_path: Path) -> None:
    stack, said = local_stack, []
    probe = requests.post(f"{stack.base_url}/api/auth/device/token", json={"device_code": "x"}, timeout=30)
    if probe.status_code == 404:
        pytest.skip("the server has no device pairing yet (/api/auth/device/* answered 404)")

    def approve_when_shown(line: str) -> None:  # the person, on their phone, approves the code shown
        said.append(line)
        code = re.search(r"approve the code:\s+(\S+)", line)
        if code:
            approved = requests.post(
                f"{stack.base_url}/api/auth/device/approve",
                json={"user_code": code.group(1), "approved_scopes": CLIENT_SCOPES},
                auth=user,
                timeout=30,
            )
            assert approved.status_code == 200, approved.text

    credentials = login.with_pairing(
        stack.base_url, "handheld", tmp_path, approve_when_shown, sleep=lambda s: None
    )

    assert credentials.token.startswith("rmm_") and credentials.username == user[0]
    device = requests.get(
        f"{stack.base_url}/api/devices/{credentials.device_id}", auth=user, timeout=30
    ).json()
    assert (device["name"], device["client"]) == ("handheld", "cloudsaves")
    credentials.save(tmp_path)
    assert Credentials.load(tmp_path).device_id == credentials.device_id


def test_login_again_keeps_the_device_and_replaces_its_token(
    local_stack: Any, user: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = Device(tmp_path, "deck", monkeypatch)
    args = ("login", local_stack.base_url, "--username", user[0], "--password-stdin")

    assert deck.run(*args, stdin=user[1]) == 0
    first = Credentials.load(deck.config)
    assert deck.run(*args, stdin=user[1]) == 0
    second = Credentials.load(deck.config)

    assert second.device_id == first.device_id and second.token != first.token
    assert (deck.config / "credentials.json").stat().st_mode & 0o777 == 0o600
    tokens = requests.get(f"{local_stack.base_url}/api/client-tokens", auth=user, timeout=30).json()
    assert [t["device_id"] for t in tokens] == [first.device_id]  # the first token was revoked
    refused = requests.get(
        f"{local_stack.base_url}/api/users/me", headers={"Authorization": f"Bearer {first.token}"}, timeout=30
    )
    assert refused.status_code == 401
    assert deck.run("status") == 0
