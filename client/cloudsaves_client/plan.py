"""From the local folder and the server's answer to a plan: what to move, what is in conflict.

The server decides with RomM's rules (API.md section 10); the client adds one guard of its own, so no
edit is ever overwritten silently: a download over a local file that changed since this device last
synced it (or was never synced) is a conflict, whatever the server planned. Conflicts are resolved only
by `--prefer`: `local` uploads over the server's copy, `server` downloads over the local one (kept as a
backup), `both` keeps the server's copy beside the local file and then uploads the local one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cloudsaves_client.config import FolderState, Settings, SyncedFile
from cloudsaves_client.files import Digest
from cloudsaves_client.mapping import LocalFile, RomIndex, download_target

Prefer = Literal["local", "server", "both"]
Do = Literal["upload", "download", "keep_both", "delete_local", "delete_server"]


@dataclass(frozen=True)
class LocalEntry:
    """A mapped local file and what the server needs to know about it."""

    file: LocalFile
    rom_id: int
    slot: str | None  # saves only
    digest: Digest
    updated_at: str

    @property
    def kind(self) -> str:
        return self.file.kind

    def manifest(self) -> dict[str, Any]:
        entry = {
            "rom_id": self.rom_id,
            "file_name": self.file.path.name,
            "emulator": self.file.emulator,
            "content_hash": self.digest.content_hash,
            "updated_at": self.updated_at,
            "file_size_bytes": self.digest.size,
        }
        return {**entry, "slot": self.slot} if self.kind == "save" else entry


@dataclass(frozen=True)
class Action:
    do: Do
    kind: str
    rel: str
    path: Path
    op: dict[str, Any]
    local: LocalEntry | None = None
    overwrite: bool = False
    reason: str = ""

    @property
    def server_id(self) -> int | None:
        found = self.op.get("save_id") if self.kind == "save" else self.op.get("state_id")
        return int(found) if found is not None else None


@dataclass(frozen=True)
class Conflict:
    kind: str
    rel: str
    rom_id: int
    reason: str
    server_updated_at: str | None
    local_updated_at: str | None


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    agreed: dict[str, SyncedFile] = field(default_factory=dict)  # no_op files, recorded as in sync
    forgotten: set[str] = field(default_factory=set)  # deleted on both sides: drop from the folder state


def save_key(rom_id: int, slot: str | None) -> tuple[Any, ...]:
    return ("save", rom_id, slot)


def state_key(rom_id: int, emulator: str | None, file_name: str) -> tuple[Any, ...]:
    return ("state", rom_id, emulator, file_name)


def key_of(entry: LocalEntry) -> tuple[Any, ...]:
    if entry.kind == "save":
        return save_key(entry.rom_id, entry.slot)
    return state_key(entry.rom_id, entry.file.emulator, entry.file.path.name)


@dataclass
class Planner:
    root: Path
    settings: Settings
    roms: RomIndex
    folder: FolderState
    locals_by_key: dict[tuple[Any, ...], LocalEntry]
    prefer: Prefer | None
    now: str
    plan: Plan = field(default_factory=Plan)

    def build(self, answer: dict[str, Any]) -> Plan:
        for op in answer.get("operations", []):
            self._one("save", op, self.locals_by_key.get(save_key(op["rom_id"], op.get("slot"))))
        for op in answer.get("state_operations", []) or []:
            key = state_key(op["rom_id"], op.get("emulator"), op["file_name"])
            self._one("state", op, self.locals_by_key.get(key))
        return self.plan

    # --- one operation ----------------------------------------------------------------------------

    def _one(self, kind: str, op: dict[str, Any], local: LocalEntry | None) -> None:
        action = op["action"]
        if local is not None:
            rel, path = local.file.rel, local.file.path
        else:
            name = self.roms.local_name(kind, op["rom_id"], op["file_name"])
            path = download_target(self.root, kind, op.get("emulator"), name, self.settings)
            rel = path.relative_to(self.root).as_posix()
        recorded = self.folder.files.get(rel)
        server_hash = op.get("server_content_hash")

        def act(do: Do, overwrite: bool = False, reason: str = "") -> None:
            self.plan.actions.append(
                Action(do, kind, rel, path, op, local, overwrite, reason or op.get("reason", ""))
            )

        def conflict(reason: str) -> None:
            if self.prefer == "local" and local is not None:
                act("upload", overwrite=True, reason=f"conflict, --prefer local: {reason}")
            elif self.prefer == "server" or (self.prefer and local is None):
                act("download", reason=f"conflict, --prefer server: {reason}")
            elif self.prefer == "both":
                act("keep_both", overwrite=True, reason=f"conflict, --prefer both: {reason}")
            else:
                self.plan.conflicts.append(
                    Conflict(
                        kind,
                        rel,
                        op["rom_id"],
                        reason,
                        op.get("server_updated_at"),
                        local.updated_at if local else None,
                    )
                )

        # Changed here since the last sync (or never synced here) and different from the server's copy.
        changed_here = local is not None and (
            recorded is None or recorded.content_hash != local.digest.content_hash
        )

        if action == "upload" and local is not None:
            if (
                kind == "state"
                and op.get("state_id") is None
                and recorded
                and recorded.server_id
                and not changed_here
            ):
                act("delete_local", reason="deleted on another device")  # states have no tombstones
            else:
                act("upload")
        elif action == "download":
            if local is None and recorded is not None and recorded.content_hash == server_hash:
                # Deleted here, unchanged on the server: for states (no tombstones) delete it there too.
                if kind == "state" and op.get("state_id"):
                    act("delete_server", reason="deleted on this device")
                else:
                    self.plan.forgotten.add(rel)
            elif local is not None and local.digest.content_hash != server_hash and changed_here:
                conflict(
                    "changed on this device and on the server"
                    if recorded
                    else "this device's copy was never synced"
                )
            else:
                act("download")
        elif action == "conflict":
            conflict(op.get("reason") or "changed on both sides")
        elif action == "delete":
            if local is None:
                self.plan.forgotten.add(rel)
            elif changed_here:
                conflict("deleted on another device, changed on this one")
            else:
                act("delete_local", reason="deleted on another device")
        elif action == "no_op" and local is not None and (server_hash in (None, local.digest.content_hash)):
            self.plan.agreed[rel] = SyncedFile(
                kind,
                local.rom_id,
                local.slot,
                local.file.emulator,
                local.digest.content_hash,
                op.get("save_id") or op.get("state_id") or (recorded.server_id if recorded else None),
                self.now,
            )
