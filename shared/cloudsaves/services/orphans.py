"""No orphaned bytes: the orphan-check ledger's use cases and the sweep that settles it.

Every path that writes bytes at a final key files a `pending` note first (`note_pending`) and commits
with `commit_actions` in its transaction, which deletes the note as the record takes the key and files
a `retired` note for each key the record lets go. Deletes file `retired` notes naming the records just
before (`note_removals`). The request deletes what it let go at once (`discard`, `release`); a function
that dies, or a delete that fails, leaves the note, and `sweep` (the scheduled ReconcileObjectsFunction)
settles notes older than an hour: bytes still named by their record stay, the others are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.clock import iso, now_iso, utcnow
from cloudsaves.models.assets import AnyRecord, Kind, StoredFile
from cloudsaves.observability import logger
from cloudsaves.repositories import keys
from cloudsaves.repositories.object_ledger import (
    LedgerNote,
    ObjectLedger,
    Reference,
    next_hour,
    pending_note,
    retired_note,
)

# A Lambda runs 15 minutes at most: a pending note this old belongs to a request that has ended.
SWEEP_DELAY = timedelta(hours=1)
# Where the very first sweep starts (later ones resume from the cursor).
FIRST_SWEEP_LOOKBACK = timedelta(days=1)
MAX_NOTES_PER_SWEEP = 1000
MAX_QUERIES_PER_SWEEP = 800


def object_ledger() -> ObjectLedger:
    return ObjectLedger(table())


# --- writers --------------------------------------------------------------------------------------


def note_pending(object_key: str) -> str:
    """File the note that must precede writing bytes at `object_key`; returns its time for `StoredFile`."""
    noted_at = now_iso()
    object_ledger().note([pending_note(object_key, noted_at)])
    return noted_at


def put_new(folder: str, user_id: int, file_name: str, data: bytes, digest: str = "") -> StoredFile:
    """`data` at a fresh key of `folder`, its pending note filed first; `digest` is RomM's content hash
    where the record keeps one."""
    key = storage.new_object_key(folder, user_id, file_name)
    stored = StoredFile(file_name, len(data), digest, key, note_pending(key))
    storage.put_object(key, data)
    return stored


def pending_notes(files: Iterable[StoredFile | None]) -> list[LedgerNote]:
    return [pending_note(f.object_key, f.noted_at) for f in files if f is not None and f.noted_at]


def commit_actions(files: Iterable[StoredFile | None], retired: Sequence[LedgerNote] = ()) -> list[dict]:
    """The ledger's part of a commit transaction: settle the new bytes' notes, note what is let go."""
    ledger = object_ledger()
    return [ledger.settle_action(n) for n in pending_notes(files)] + [ledger.put_action(n) for n in retired]


def asset_reference(kind: Kind, asset_id: int, attribute: str) -> Reference:
    return Reference(keys.asset_pk(kind, asset_id), keys.PROFILE, attribute)


def replaced_notes(kind: Kind, previous: AnyRecord, current: AnyRecord) -> list[LedgerNote]:
    """Notes for the keys `previous` named that `current` (the same record, rewritten) no longer names."""
    kept = {current.object_key, current.screenshot.object_key if current.screenshot else None}
    return [n for n in _record_notes(kind, previous) if n.object_key not in kept]


def note_removals(kind: Kind, records: Iterable[AnyRecord]) -> list[LedgerNote]:
    """File notes for every key of records about to be deleted (before the delete, one BatchWriteItem)."""
    notes = [n for record in records for n in _record_notes(kind, record)]
    if notes:
        object_ledger().note(notes)
    return notes


def discard(files: Iterable[StoredFile | None]) -> None:
    """New bytes no record took: delete them now and drop their notes (what fails is left to the sweep)."""
    stored = [f for f in files if f is not None]
    deleted = storage.delete_objects(f.object_key for f in stored)
    _forget([n for n in pending_notes(stored) if n.object_key in deleted])


def release(notes: Sequence[LedgerNote]) -> None:
    """Bytes records let go: delete their current version now (history stays for the retention period)."""
    if not notes:
        return
    deleted = storage.delete_objects(n.object_key for n in notes)
    _forget([n for n in notes if n.object_key in deleted])


def _record_notes(kind: Kind, record: AnyRecord) -> list[LedgerNote]:
    noted_at = now_iso()
    notes = [retired_note(record.object_key, asset_reference(kind, record.id, "object_key"), noted_at)]
    if record.screenshot is not None:
        reference = asset_reference(kind, record.id, "screenshot.object_key")
        notes.append(retired_note(record.screenshot.object_key, reference, noted_at))
    return notes


def _forget(notes: list[LedgerNote]) -> None:
    if not notes:
        return
    try:
        object_ledger().forget(notes)
    except Exception:  # the request already succeeded; the sweep finds the notes and settles them
        logger.exception("Could not drop orphan-check notes", extra={"keys": [n.object_key for n in notes]})


# --- the sweep ------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    checked: int = 0  # notes settled
    orphans_found: int = 0  # of which named bytes no record holds
    orphans_deleted: int = 0
    failures: int = 0  # notes filed again for the next sweeps
    hours_swept: int = 0
    cursor: str = ""


def sweep(now: datetime | None = None) -> SweepReport:
    """Settle the notes older than SWEEP_DELAY, hour by hour from the cursor, within a bounded budget."""
    now = now or utcnow()
    ledger = object_ledger()
    last_due = keys.orphan_check_hour(iso(now - SWEEP_DELAY - timedelta(hours=1)))
    hour = ledger.cursor() or keys.orphan_check_hour(iso(now - FIRST_SWEEP_LOOKBACK))
    report = SweepReport(cursor=hour)
    queries = 0
    while hour <= last_due:
        for shard in range(keys.ORPHAN_CHECK_SHARDS):
            while True:
                budget = MAX_NOTES_PER_SWEEP - report.checked
                if budget <= 0 or queries >= MAX_QUERIES_PER_SWEEP:
                    ledger.set_cursor(hour)  # resume here next run: settled notes are gone
                    report.cursor = hour
                    return report
                notes = ledger.notes_in(hour, shard, limit=min(budget, 100))
                queries += 1
                for note in notes:
                    _settle(ledger, note, report, now)
                if len(notes) < min(budget, 100):
                    break
        hour = next_hour(hour)
        report.hours_swept += 1
    ledger.set_cursor(hour)
    report.cursor = hour
    return report


def _settle(ledger: ObjectLedger, note: LedgerNote, report: SweepReport, now: datetime) -> None:
    report.checked += 1
    try:
        # A pending note outliving its request proves no commit took the bytes (it deletes the note).
        if note.reference is not None and ledger.holds_key(note.reference, note.object_key):
            ledger.forget([note])
            return
        report.orphans_found += 1
        if note.purpose == "pending":
            if not storage.purge_object(note.object_key):  # never referenced: nothing worth keeping
                raise RuntimeError("DeleteObjects refused a version of the key")
        elif note.object_key not in storage.delete_objects([note.object_key]):
            raise RuntimeError("DeleteObjects refused the key")
        report.orphans_deleted += 1
        ledger.forget([note])
    except Exception:
        logger.exception("Could not settle an orphan-check note; filed again", extra={"key": note.object_key})
        report.failures += 1
        refiled = LedgerNote(note.object_key, note.purpose, iso(now), note.reference)
        ledger.note([refiled])
        ledger.forget([note])
