"""The pairing rules of sync negotiate (API.md section 10), pure: no AWS, no I/O, unit-testable.

RomM 5.2's rules (`handler/sync/comparison.py`, `endpoints/sync.py`) plus this service's own:
- sync history by slot: the device's last sync of a (rom_id, slot) is its newest sync record on any
  row of the slot; when the slot's head is not that row and the client's copy is not that row's
  content either, both sides moved on: `conflict`, never a silent download or upload;
- tombstones (only for clients that send `deleted`): a slot deleted elsewhere plans `delete` for a
  client still holding the deleted content, and is never planned as a download.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cloudsaves.models.sync import SyncAction

# RomM's reasons, word for word (clients show them).
SAME_CONTENT = "Content is identical"
BOTH_CHANGED = "Both sides changed since last sync"
CLIENT_NEWER_THAN_SYNC = "Client save is newer than last sync"
SERVER_NEWER_THAN_SYNC = "Server save is newer than last sync"
UNCHANGED_SINCE_SYNC = "No changes since last sync"
CLIENT_NEWER = "Client save is newer (no sync history)"
SERVER_NEWER = "Server save is newer (no sync history)"
SAME_TIME_DIFFERENT_CONTENT = "Same timestamp but different content"
APPEAR_IDENTICAL = "Saves appear identical"
NOT_ON_SERVER = "Save exists on client but not on server"
UNTRACKED = "Save is untracked on this device"
UPDATED_NOT_ON_CLIENT = "Server save updated since last sync, not present on client"
NOT_ON_CLIENT = "Save exists on server but not on client"
# This service's own reasons.
STATE_NOT_ON_SERVER = "State exists on client but not on server"
STATE_NOT_ON_CLIENT = "State exists on server but not on client"
HISTORY_CONFLICT = "Slot has a newer save than the one this device last synced, and this copy changed too"
DELETED_ELSEWHERE = "Save was deleted on another device"
CHANGED_AFTER_DELETE = "Client save changed after it was deleted on another device"
DIFFERS_FROM_DELETED = "Save was deleted on another device, and this copy differs from the deleted one"


def to_utc(moment: datetime) -> datetime:
    """RomM's `to_utc`: a naive time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def compare(
    *,
    client_hash: str | None,
    client_updated_at: datetime,
    server_hash: str | None,
    server_updated_at: datetime,
    last_synced_at: datetime | None,
) -> tuple[SyncAction, str]:
    """RomM's `compare_save_state`: (action, reason) for one client file against its server pair."""
    client_ts, server_ts = to_utc(client_updated_at), to_utc(server_updated_at)
    if client_hash and server_hash and client_hash == server_hash:
        return "no_op", SAME_CONTENT
    if last_synced_at is not None:
        synced = to_utc(last_synced_at)
        client_changed, server_changed = client_ts > synced, server_ts > synced
        if client_changed and server_changed:
            return "conflict", BOTH_CHANGED
        if client_changed:
            return "upload", CLIENT_NEWER_THAN_SYNC
        if server_changed:
            return "download", SERVER_NEWER_THAN_SYNC
        return "no_op", UNCHANGED_SINCE_SYNC
    if client_ts > server_ts:
        return "upload", CLIENT_NEWER
    if server_ts > client_ts:
        return "download", SERVER_NEWER
    if client_hash != server_hash:  # one of them missing counts as different (RomM)
        return "conflict", SAME_TIME_DIFFERENT_CONTENT
    return "no_op", APPEAR_IDENTICAL


@dataclass(frozen=True)
class DeviceSync:
    """This device's sync record on one server row."""

    last_synced_at: datetime
    is_untracked: bool = False


@dataclass(frozen=True)
class ServerFile:
    """One stored save (or state) row, with this device's sync record on it."""

    id: int
    rom_id: int
    file_name: str
    updated_at: datetime
    content_hash: str | None = None
    slot: str | None = None
    emulator: str | None = None
    sync: DeviceSync | None = None


@dataclass(frozen=True)
class ClientFile:
    rom_id: int
    file_name: str
    updated_at: datetime
    content_hash: str | None = None
    slot: str | None = None
    emulator: str | None = None
    file_size_bytes: int = 0


@dataclass(frozen=True)
class DeadSlot:
    """A tombstone as the planner sees it: the save row that was deleted and when."""

    rom_id: int
    slot: str
    save_id: int
    content_hash: str | None
    deleted_at: datetime


@dataclass(frozen=True)
class Planned:
    """One operation; `server` is the paired server row (None for uploads of new files and deletes)."""

    action: SyncAction
    reason: str
    client: ClientFile | None = None
    server: ServerFile | None = None
    dead: DeadSlot | None = None


@dataclass
class SavePlan:
    operations: list[Planned] = field(default_factory=list)
    # Slots the client reported deleted whose server head it had synced: tombstone them now.
    new_tombstones: list[ServerFile] = field(default_factory=list)


def _newer(a: ServerFile, b: ServerFile) -> bool:
    return (to_utc(a.updated_at), a.id) > (to_utc(b.updated_at), b.id)


@dataclass
class _Slot:
    head: ServerFile
    last_synced: ServerFile | None = None  # the row of the device's newest sync record

    def add(self, row: ServerFile) -> None:
        if _newer(row, self.head):
            self.head = row
        if row.sync is not None and (
            self.last_synced is None
            or self.last_synced.sync is None
            or to_utc(row.sync.last_synced_at) > to_utc(self.last_synced.sync.last_synced_at)
        ):
            self.last_synced = row


def _slots(rows: Iterable[ServerFile]) -> dict[tuple[int, str], _Slot]:
    slots: dict[tuple[int, str], _Slot] = {}
    for row in rows:
        if row.slot is None:
            continue  # slot-less server saves are archival: never paired
        key = (row.rom_id, row.slot)
        if key in slots:
            slots[key].add(row)
        else:
            slots[key] = _Slot(head=row, last_synced=row if row.sync is not None else None)
    return slots


def _hashes_equal(a: str | None, b: str | None) -> bool:
    return bool(a and b and a == b)


def _pair(client: ClientFile, slot: _Slot) -> tuple[SyncAction, str]:
    head, synced = slot.head, slot.last_synced
    if head.sync is not None and head.sync.is_untracked:
        return "no_op", UNTRACKED
    if _hashes_equal(client.content_hash, head.content_hash):
        return "no_op", SAME_CONTENT
    if (
        synced is not None
        and synced.id != head.id
        and not _hashes_equal(client.content_hash, synced.content_hash)
    ):
        return "conflict", HISTORY_CONFLICT
    return compare(
        client_hash=client.content_hash,
        client_updated_at=client.updated_at,
        server_hash=head.content_hash,
        server_updated_at=head.updated_at,
        last_synced_at=synced.sync.last_synced_at if synced is not None and synced.sync else None,
    )


def _against_tombstone(client: ClientFile, dead: DeadSlot) -> tuple[SyncAction, str]:
    if _hashes_equal(client.content_hash, dead.content_hash):
        return "delete", DELETED_ELSEWHERE
    if to_utc(client.updated_at) > to_utc(dead.deleted_at):
        return "upload", CHANGED_AFTER_DELETE
    return "conflict", DIFFERS_FROM_DELETED


def _unmentioned(slot: _Slot) -> Planned | None:
    """RomM's rule for a head the client did not list: download, unless untracked or deleted there."""
    head, synced = slot.head, slot.last_synced
    if head.sync is not None and head.sync.is_untracked:
        return None
    if synced is not None and synced.sync is not None:
        if to_utc(head.updated_at) <= to_utc(synced.sync.last_synced_at):
            return None  # unchanged since the device synced it: the client deleted it
        return Planned("download", UPDATED_NOT_ON_CLIENT, server=head)
    return Planned("download", NOT_ON_CLIENT, server=head)


def plan_saves(
    clients: Sequence[ClientFile],
    rows: Iterable[ServerFile],
    *,
    tombstones: Iterable[DeadSlot] | None = None,
    deleted: Iterable[tuple[int, str]] = (),
) -> SavePlan:
    """The plan for the client's saves against the server's rows (all of the user's slotted saves).

    `tombstones` None: RomM's protocol exactly (no `delete` action). Otherwise the client speaks
    tombstones: `deleted` lists the (rom_id, slot) it deleted locally.
    """
    slots = _slots(rows)
    live: dict[tuple[int, str], DeadSlot] = {}
    for tombstone in tombstones or ():
        key = (tombstone.rom_id, tombstone.slot)
        if key not in slots or slots[key].head.id == tombstone.save_id:
            live[key] = tombstone
    plan = SavePlan()
    mentioned: set[tuple[int, str]] = set()
    for client in clients:
        key = (client.rom_id, client.slot or "")
        slot = slots.get(key) if client.slot is not None else None
        dead = live.get(key) if tombstones is not None and client.slot is not None else None
        if dead is not None:
            mentioned.add(key)
            action, reason = _against_tombstone(client, dead)
            plan.operations.append(Planned(action, reason, client=client, dead=dead))
            continue
        if slot is None:
            plan.operations.append(Planned("upload", NOT_ON_SERVER, client=client))
            continue
        mentioned.add(key)
        action, reason = _pair(client, slot)
        plan.operations.append(Planned(action, reason, client=client, server=slot.head))
    reported_deleted = set(deleted) if tombstones is not None else set()
    for key, slot in slots.items():
        if key in mentioned or key in live:
            continue
        planned = _unmentioned(slot)
        if planned is None and key in reported_deleted and not _untracked(slot):
            plan.new_tombstones.append(slot.head)
        elif planned is not None:
            plan.operations.append(planned)
    return plan


def _untracked(slot: _Slot) -> bool:
    return slot.head.sync is not None and slot.head.sync.is_untracked


def plan_states(clients: Sequence[ClientFile], rows: Iterable[ServerFile]) -> list[Planned]:
    """States pair on (rom_id, emulator, file_name) by the same rules; they carry no sync records."""
    server: dict[tuple[int, str | None, str], ServerFile] = {}
    for stored in rows:
        key = (stored.rom_id, stored.emulator, stored.file_name)
        if key not in server or _newer(stored, server[key]):
            server[key] = stored
    operations: list[Planned] = []
    mentioned: set[tuple[int, str | None, str]] = set()
    for client in clients:
        key = (client.rom_id, client.emulator, client.file_name)
        row = server.get(key)
        if row is None:
            operations.append(Planned("upload", STATE_NOT_ON_SERVER, client=client))
            continue
        mentioned.add(key)
        action, reason = compare(
            client_hash=client.content_hash,
            client_updated_at=client.updated_at,
            server_hash=row.content_hash,
            server_updated_at=row.updated_at,
            last_synced_at=None,
        )
        operations.append(Planned(action, reason, client=client, server=row))
    for key, row in server.items():
        if key not in mentioned:
            operations.append(Planned("download", STATE_NOT_ON_CLIENT, server=row))
    return operations


def totals(operations: Iterable[Planned]) -> dict[str, int]:
    counts = {"upload": 0, "download": 0, "conflict": 0, "no_op": 0, "delete": 0}
    for operation in operations:
        counts[operation.action] += 1
    return counts
