"""Save rows as the repository writes them (no bytes, no handler): many slots, fast, for sync tests."""

from __future__ import annotations

from cloudsaves.aws import table
from cloudsaves.models.assets import SaveRecord, SyncRecord
from cloudsaves.repositories.assets import AssetsRepository


def stored_saves(records: list[SaveRecord]) -> None:
    """Many saves at once (BatchWriteItem): moto copies the whole table for each transaction."""
    repo = AssetsRepository(table(), "save")
    with table().batch_writer() as batch:
        for record in records:
            batch.put_item(Item=repo._item(record))  # the item exactly as the repository writes it


def save_record(
    save_id: int,
    *,
    user_id: int = 1001,
    rom_id: int = 10,
    slot: str = "autosave",
    updated_at: str = "2025-03-01T12:00:00.000000+00:00",
    content_hash: str | None = None,
    synced_by: str | None = None,
) -> SaveRecord:
    syncs = {synced_by: SyncRecord(last_synced_at=updated_at)} if synced_by else {}
    return SaveRecord(
        id=save_id,
        user_id=user_id,
        rom_id=rom_id,
        platform_id=1,
        platform_fs_slug="gba",
        file_name=f"emerald [{save_id}].srm",
        file_name_no_tags="emerald",
        file_name_no_ext=f"emerald [{save_id}]",
        file_extension="srm",
        file_path=f"users/{user_id}/saves/gba/{rom_id}",
        file_size_bytes=131072,
        content_hash=content_hash or f"{save_id:032x}",
        created_at=updated_at,
        updated_at=updated_at,
        object_key=f"users/{user_id}/saves/{save_id:032x}/emerald.srm",
        slot=slot,
        syncs=syncs,
    )
