"""cloudsaves: from the server's negotiate answer to actions; conflicts are never resolved silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudsaves_client.config import FolderState, Settings, SyncedFile
from cloudsaves_client.files import Digest
from cloudsaves_client.mapping import LocalFile, RomIndex
from cloudsaves_client.plan import LocalEntry, Plan, Planner, Prefer, key_of

ROOT = Path("/saves")
ROMS = RomIndex([{"id": 1, "name": "Chrono Trigger", "fs_name": "Chrono Trigger (USA).sfc"}])
NAME = "Chrono Trigger (USA).srm"
STATE = "Chrono Trigger (USA).state1"


def _local(kind: str = "save", content_hash: str = "h-local") -> LocalEntry:
    name = NAME if kind == "save" else STATE
    file = LocalFile(ROOT / name, name, kind, "Chrono Trigger (USA)", None)
    slot = "autosave" if kind == "save" else None
    return LocalEntry(file, 1, slot, Digest(content_hash, "md5==", 10), "2026-12-03T08:00:00+00:00")


def _recorded(content_hash: str, kind: str = "save", server_id: int | None = 5) -> SyncedFile:
    return SyncedFile(kind, 1, "autosave" if kind == "save" else None, None, content_hash, server_id, "t")


def _op(
    action: str, server_hash: str | None = "h-server", kind: str = "save", **extra: Any
) -> dict[str, Any]:
    op = {
        "action": action,
        "rom_id": 1,
        "emulator": None,
        "reason": "server says",
        "server_content_hash": server_hash,
    }
    if kind == "save":
        op.update(save_id=5, slot="autosave", file_name="Chrono Trigger (USA) [2026-12-03_08-00-00].srm")
    else:
        op.update(state_id=6, file_name=STATE)
    return {**op, **extra}


def _plan(
    op: dict[str, Any],
    local: LocalEntry | None,
    recorded: SyncedFile | None = None,
    prefer: Prefer | None = None,
) -> Plan:
    kind = "state" if "state_id" in op else "save"
    folder = FolderState(ROOT, {(NAME if kind == "save" else STATE): recorded} if recorded else {})
    locals_by_key = {key_of(local): local} if local else {}
    answer = {"operations": [op]} if kind == "save" else {"operations": [], "state_operations": [op]}
    return Planner(ROOT, Settings(), ROMS, folder, locals_by_key, prefer, "now").build(answer)


def _dos(plan: Plan) -> list[tuple[str, bool]]:
    return [(a.do, a.overwrite) for a in plan.actions]


def test_download_over_a_file_unchanged_since_the_last_sync() -> None:
    plan = _plan(_op("download"), _local(content_hash="h-old"), _recorded("h-old"))
    assert _dos(plan) == [("download", False)] and not plan.conflicts


def test_a_new_server_save_lands_under_the_rom_s_name() -> None:
    plan = _plan(_op("download"), None)
    assert _dos(plan) == [("download", False)] and plan.actions[0].path == ROOT / NAME


@pytest.mark.parametrize(
    ("recorded", "why"),
    [(_recorded("h-old"), "changed on this device and on the server"), (None, "never synced")],
)
def test_a_download_over_local_changes_is_a_conflict_whatever_the_server_planned(
    recorded: SyncedFile | None, why: str
) -> None:
    plan = _plan(_op("download"), _local(), recorded)
    assert plan.actions == [] and len(plan.conflicts) == 1 and why in plan.conflicts[0].reason


def test_the_server_s_conflicts_are_listed_and_nothing_moves_without_prefer() -> None:
    plan = _plan(_op("conflict"), _local(), _recorded("h-old"))
    assert plan.actions == [] and [c.rel for c in plan.conflicts] == [NAME]


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [("local", [("upload", True)]), ("server", [("download", False)]), ("both", [("keep_both", True)])],
)
def test_prefer_decides_conflicts(prefer: Prefer, expected: list[tuple[str, bool]]) -> None:
    plan = _plan(_op("conflict"), _local(), _recorded("h-old"), prefer)
    assert _dos(plan) == expected and not plan.conflicts


def test_upload_and_no_op() -> None:
    assert _dos(_plan(_op("upload", None, save_id=None), _local())) == [("upload", False)]
    agreed = _plan(_op("no_op", "h-local"), _local(), None).agreed
    assert agreed[NAME].content_hash == "h-local" and agreed[NAME].server_id == 5


def test_a_slot_deleted_on_another_device_is_deleted_here_unless_it_changed_here() -> None:
    assert _dos(_plan(_op("delete"), _local(content_hash="h-old"), _recorded("h-old"))) == [
        ("delete_local", False)
    ]
    changed = _plan(_op("delete"), _local(content_hash="h-new"), _recorded("h-old"))
    assert (
        changed.actions == []
        and "deleted on another device, changed on this one" in changed.conflicts[0].reason
    )
    assert _plan(_op("delete"), None, _recorded("h-old")).forgotten == {NAME}


def test_a_file_deleted_here_is_not_downloaded_back_when_the_server_copy_is_the_one_synced() -> None:
    save = _plan(_op("download", "h-old"), None, _recorded("h-old"))
    assert save.actions == [] and save.forgotten == {NAME}
    state = _plan(_op("download", "h-old", kind="state"), None, _recorded("h-old", "state", 6))
    assert _dos(state) == [("delete_server", False)]  # states have no tombstones: the client deletes it
    newer = _plan(_op("download", "h-newer"), None, _recorded("h-old"))
    assert _dos(newer) == [("download", False)]  # changed elsewhere since: it comes back, nothing lost


def test_a_state_gone_from_the_server_is_deleted_here_when_unchanged_here() -> None:
    gone = _op("upload", None, kind="state", state_id=None)
    assert _dos(_plan(gone, _local("state", "h-old"), _recorded("h-old", "state", 6))) == [
        ("delete_local", False)
    ]
    assert _dos(_plan(gone, _local("state", "h-new"), _recorded("h-old", "state", 6))) == [("upload", False)]
