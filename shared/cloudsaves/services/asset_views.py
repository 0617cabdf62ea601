"""Saves and states as clients see them: records rendered as RomM's SaveSchema / StateSchema."""

from __future__ import annotations

from urllib.parse import quote

from cloudsaves.clock import parse_iso
from cloudsaves.filenames import split_name
from cloudsaves.models.assets import (
    AnyRecord,
    DeviceSyncSchema,
    Kind,
    SaveRecord,
    SaveSchema,
    ScreenshotSchema,
    StateSchema,
)
from cloudsaves.models.devices import DeviceRecord, sync_outlives_reset
from cloudsaves.repositories.devices import DeviceLabel
from cloudsaves.services.devices import device_labels

_SHARED_FIELDS = {
    "id", "rom_id", "user_id", "file_name", "file_name_no_tags", "file_name_no_ext", "file_extension",
    "file_path", "file_size_bytes", "created_at", "updated_at", "emulator", "content_hash", "is_public",
}  # fmt: skip


def schema(record: AnyRecord, device: DeviceRecord | None) -> SaveSchema | StateSchema:
    """The record as its kind's schema; device_syncs (saves) only when `device` is named."""
    return save_schema(record, device) if isinstance(record, SaveRecord) else state_schema(record)


def state_schema(record: AnyRecord) -> StateSchema:
    """RomM's StateSchema, plus content_hash."""
    return StateSchema.model_validate(_shared_fields("state", record))


def save_schema(
    record: SaveRecord, device: DeviceRecord | None, labels: dict[str, DeviceLabel] | None = None
) -> SaveSchema:
    """RomM's SaveSchema; `labels` (from `device_labels_of`) saves a lookup per save when rendering a page."""
    if labels is None:
        labels = device_labels_of(record.user_id, [record], device)
    return SaveSchema.model_validate(
        {
            **_shared_fields("save", record),
            "slot": record.slot,
            "origin_device_id": record.origin_device_id,
            "device_syncs": _device_syncs(record, device, labels),
        }
    )


def _shared_fields(kind: Kind, record: AnyRecord) -> dict[str, object]:
    return {
        **record.model_dump(include=_SHARED_FIELDS),
        "full_path": f"{record.file_path}/{record.file_name}",
        "download_path": f"/api/{kind}s/{record.id}/content?timestamp={quote(record.updated_at, safe='')}",
        "missing_from_fs": False,
        "screenshot": _screenshot_schema(record),
    }


def _screenshot_schema(record: AnyRecord) -> ScreenshotSchema | None:
    shot = record.screenshot
    if shot is None:
        return None
    parts = split_name(shot.file_name)
    folder = f"users/{record.user_id}/screenshots/{record.platform_fs_slug}/{record.rom_id}"
    full_path = f"{folder}/{shot.file_name}"
    return ScreenshotSchema(
        id=shot.id,
        rom_id=record.rom_id,
        user_id=record.user_id,
        file_name=shot.file_name,
        file_name_no_tags=parts.no_tags,
        file_name_no_ext=parts.no_ext,
        file_extension=parts.extension,
        file_path=folder,
        file_size_bytes=shot.file_size_bytes,
        full_path=full_path,
        # Served by GET /api/{saves|states}/{id}/screenshot (RomM's /api/raw/assets path has no route here).
        download_path=(
            f"/api/{_kind_of(record)}s/{record.id}/screenshot?timestamp={quote(shot.updated_at, safe='')}"
        ),
        created_at=shot.created_at,
        updated_at=shot.updated_at,
        is_public=record.is_public,  # the screenshot follows its save's visibility
    )


def _kind_of(record: AnyRecord) -> str:
    return "save" if isinstance(record, SaveRecord) else "state"


def device_labels_of(
    user_id: int, records: list[AnyRecord], device: DeviceRecord | None
) -> dict[str, DeviceLabel]:
    """Labels of every other device with a sync record on these saves: one BatchGetItem for the page."""
    if device is None:
        return {}
    others = {d for r in records if isinstance(r, SaveRecord) for d in r.syncs if d != device.id}
    return device_labels(user_id, others) if others else {}


def _device_syncs(
    record: SaveRecord, device: DeviceRecord | None, labels: dict[str, DeviceLabel]
) -> list[DeviceSyncSchema]:
    """RomM's device_syncs: only when a device is named; the caller's entry first (a placeholder if none).
    Records of deleted devices, or from before a device reset its syncs, are not shown."""
    if device is None:
        return []
    labels = {**labels, device.id: DeviceLabel(device.name, device.syncs_reset_at)}
    updated = parse_iso(record.updated_at)
    entries = [
        DeviceSyncSchema(
            device_id=device_id,
            device_name=labels[device_id].name,
            last_synced_at=sync.last_synced_at,
            is_untracked=sync.is_untracked,
            is_current=parse_iso(sync.last_synced_at) >= updated,
        )
        for device_id, sync in sorted(
            record.syncs.items(), key=lambda item: (-parse_iso(item[1].last_synced_at).timestamp(), item[0])
        )
        if device_id in labels and sync_outlives_reset(sync.last_synced_at, labels[device_id].syncs_reset_at)
    ]
    if not any(entry.device_id == device.id for entry in entries):
        entries.append(
            DeviceSyncSchema(
                device_id=device.id,
                device_name=device.name,
                last_synced_at=record.updated_at,
                is_untracked=False,
                is_current=False,
            )
        )
    entries.sort(key=lambda entry: entry.device_id != device.id)
    return entries
