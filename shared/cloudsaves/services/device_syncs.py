"""A device's sync record on a save: confirm a download, track and untrack (RomM's device bookkeeping)."""

from __future__ import annotations

from cloudsaves.clock import now_iso
from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.http import Principal
from cloudsaves.models.assets import (
    SaveRecord,
    SaveSchema,
    SyncRecord,
)
from cloudsaves.services import asset_records, asset_views
from cloudsaves.services.devices import resolve_device


def confirm_download(principal: Principal, save_id: int, device_id: str) -> SaveSchema:
    """`POST /api/saves/{id}/downloaded`: the device now holds this version."""
    record = asset_records.owned("save", principal, save_id)
    device = resolve_device(principal, device_id, write=True)
    assert device is not None
    return asset_views.save_schema(
        asset_records.record_sync(asset_records.assets_repository("save"), record, device), device
    )


def set_tracking(principal: Principal, save_id: int, device_id: str, *, untracked: bool) -> SaveSchema:
    """`/track`, `/untrack`: untrack with no record creates an untracked one; track with none: no change."""
    record = asset_records.owned("save", principal, save_id)
    device = resolve_device(principal, device_id, write=True)
    assert device is not None
    repo = asset_records.assets_repository("save")
    for _ in range(asset_records.MAX_COMMIT_ATTEMPTS):
        try:
            record = repo.set_untracked_flag(save_id, device.id, untracked)
            break
        except ConcurrentUpdate:
            pass  # no sync record (or no save)
        if not untracked:
            record = asset_records.owned("save", principal, save_id)
            break
        try:
            record = repo.add_sync_if_absent(
                save_id, device.id, SyncRecord(last_synced_at=now_iso(), is_untracked=True)
            )
            break
        except ConcurrentUpdate:
            record = asset_records.owned(
                "save", principal, save_id
            )  # a record appeared meanwhile: flip it next round
    assert isinstance(record, SaveRecord)
    return asset_views.save_schema(record, device)
