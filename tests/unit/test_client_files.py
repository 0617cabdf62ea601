"""cloudsaves: content hashes as the server computes them, and replacing a file with a backup."""

from __future__ import annotations

import errno
import io
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloudsaves.hashing import content_hash, md5_base64
from cloudsaves_client.config import Credentials, Settings, write_private
from cloudsaves_client.errors import DiskError, ExitCode, NotLoggedIn, UsageError
from cloudsaves_client.files import backup_path, digest, move_to_backup, replace_file


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [b"SRAM" * 1000, _zip({"b.sav": b"2", "a.sav": b"1", "dir/": b""})])
def test_digest_matches_the_server_s_content_hash_and_content_md5(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.srm"
    path.write_bytes(data)

    got = digest(path)

    assert (got.content_hash, got.md5_base64, got.size) == (content_hash(data), md5_base64(data), len(data))


def test_replace_keeps_the_replaced_file_as_a_backup(tmp_path: Path) -> None:
    target, new = tmp_path / "Game.srm", tmp_path / ".cloudsaves" / "partial" / "x.part"
    target.write_bytes(b"old")
    new.parent.mkdir(parents=True)
    new.write_bytes(b"new")
    backup = backup_path(tmp_path, "Game.srm", datetime(2026, 12, 3, 8, 0, tzinfo=UTC))

    made = replace_file(new, target, backup)

    assert made == tmp_path / ".cloudsaves" / "backups" / "Game.srm.20261203T080000"
    assert (target.read_bytes(), backup.read_bytes(), new.exists()) == (b"new", b"old", False)


def test_replace_of_a_new_file_makes_no_backup(tmp_path: Path) -> None:
    new = tmp_path / "x.part"
    new.write_bytes(b"new")
    assert replace_file(new, tmp_path / "sub" / "Game.srm", tmp_path / "backup") is None
    assert (tmp_path / "sub" / "Game.srm").read_bytes() == b"new"


def test_disk_full_is_an_error_a_person_can_act_on_and_the_old_file_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, new = tmp_path / "Game.srm", tmp_path / "x.part"
    target.write_bytes(b"old")
    new.write_bytes(b"new")

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(DiskError) as raised:
        replace_file(new, target, None)

    assert raised.value.exit_code == ExitCode.DISK and "disk is full" in raised.value.message
    assert target.read_bytes() == b"old"


def test_a_deleted_file_goes_to_the_backups(tmp_path: Path) -> None:
    target = tmp_path / "Game.srm"
    target.write_bytes(b"kept")
    move_to_backup(target, tmp_path / "b" / "Game.srm.1")
    assert not target.exists() and (tmp_path / "b" / "Game.srm.1").read_bytes() == b"kept"


def test_credentials_are_private_and_a_missing_login_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotLoggedIn) as raised:
        Credentials.load(tmp_path)
    assert raised.value.exit_code == ExitCode.USAGE and raised.value.hint == "run: cloudsaves login URL"

    path = Credentials("http://h", "rmm_x", "dev-1", "deck").save(tmp_path / "cfg")

    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cfg").stat().st_mode & 0o777 == 0o700
    assert Credentials.load(tmp_path / "cfg").token == "rmm_x"


def test_settings_file_is_read_and_bad_values_name_the_file(tmp_path: Path) -> None:
    Settings.write_default(tmp_path)
    assert Settings.load(tmp_path).slot == "autosave"  # the commented template parses

    write_private(tmp_path / "config.toml", 'slot = "main"\nemulator = "mgba"\n[map]\n"hack.srm" = 7\n')
    settings = Settings.load(tmp_path)
    assert (settings.slot, settings.emulator, settings.map) == ("main", "mgba", {"hack.srm": 7})

    write_private(tmp_path / "config.toml", '[map]\n"hack.srm" = "seven"\n')
    with pytest.raises(UsageError, match=r"config\.toml"):
        Settings.load(tmp_path)
