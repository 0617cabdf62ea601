"""Keeps the RetroArch door's entries current when any client commits a save or state version.

Called after every committed upload (multipart, direct, the door's own, in-place replace), so a save
uploaded through `POST /api/saves` shows up in RetroArch's `manifest.server` without the manifest
ever reading a user's whole history. Bookkeeping: a failure is logged, never a reason to fail the upload.
"""

from __future__ import annotations

from cloudsaves.aws import table
from cloudsaves.models.assets import AnyRecord, Kind, SaveRecord
from cloudsaves.observability import logger
from cloudsaves.repositories.cloud_sync import AssetEntry, CloudSyncRepository
from cloudsaves.services.cloud_sync_paths import SAVE_SLOT, is_state_name


def cloud_sync_repository() -> CloudSyncRepository:
    return CloudSyncRepository(table())


def entry_of(record: AnyRecord) -> AssetEntry | None:
    """The door entry a version belongs to: the `autosave` slot, or a state named like RetroArch's."""
    kind: Kind
    if isinstance(record, SaveRecord):
        if record.slot != SAVE_SLOT:
            return None
        kind, name = "save", SAVE_SLOT
    elif is_state_name(record.file_name):
        kind, name = "state", record.file_name
    else:
        return None
    return AssetEntry(
        kind=kind,
        rom_id=record.rom_id,
        name=name,
        emulator=record.emulator,
        asset_id=record.id,
        content_hash=record.content_hash,
        updated_at=record.updated_at,
    )


def note_commit(record: AnyRecord) -> None:
    """Record `record` as the newest version of its door entry (if it has one)."""
    entry = entry_of(record)
    if entry is None:
        return
    try:
        cloud_sync_repository().note_version(record.user_id, entry)
    except Exception:
        logger.warning("Could not update the Cloud Sync entry", extra={"asset_id": record.id}, exc_info=True)
