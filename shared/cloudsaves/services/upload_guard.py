"""The conflict guard's two rules (RomM's 409s on upload), pure: records and a device in, Conflict out.

`asset_uploads` applies them twice: before any byte moves (a pass is no promise), then again on what
the conditional write is decided on, so a lost race is re-decided rather than overwritten.
"""

from __future__ import annotations

from cloudsaves.clock import parse_iso
from cloudsaves.errors import Conflict
from cloudsaves.models.assets import AnyRecord, SaveRecord
from cloudsaves.models.devices import DeviceRecord

# RomM's details, word for word (clients show them).
SLOT_CONFLICT = "Slot has a newer save since your last sync"
SAVE_CONFLICT = "Save has been updated since your last sync"


def check_slot_sync(latest: SaveRecord, device: DeviceRecord) -> None:
    """A device uploading to a slot must have synced the slot's newest save since it was written."""
    sync = latest.syncs.get(device.id)
    if (
        sync is None
        or not device.counts_sync(sync.last_synced_at)
        or parse_iso(sync.last_synced_at) < parse_iso(latest.updated_at)
    ):
        raise Conflict(SLOT_CONFLICT)


def check_not_stale(
    current: AnyRecord, device: DeviceRecord | None, overwrite: bool, *, content: bool
) -> None:
    """RomM's same-name rule: a device whose sync record is older than the save's content gets 409."""
    if not isinstance(current, SaveRecord) or device is None or overwrite or not content:
        return
    sync = current.syncs.get(device.id)
    if (
        sync is not None
        and device.counts_sync(sync.last_synced_at)
        and parse_iso(sync.last_synced_at) < parse_iso(current.updated_at)
    ):
        raise Conflict(SAVE_CONFLICT)
