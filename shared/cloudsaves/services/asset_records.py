"""What every saves and states use case shares: the repository, ownership checks, sync records.

The use cases live beside it, one concept a module: `asset_uploads` (multipart and direct uploads,
the conflict guard), `asset_reads` (lists, summary, one record), `asset_downloads` (bytes and
presigned URLs), `device_syncs` (a device's sync record on a save), `asset_changes` (visibility, delete),
`upload_guard` (the conflict guard's rules), `slot_retention` (a slot's autocleanup after an upload).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.errors import ConcurrentUpdate, NotFound
from cloudsaves.http import Principal
from cloudsaves.models.assets import (
    AnyRecord,
    Kind,
    SaveRecord,
    SyncRecord,
)
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.repositories.assets import AssetsRepository
from cloudsaves.services.devices import touch_last_seen

# Each attempt re-reads and decides again; only a storm of writers to one slot or name exhausts them.
MAX_COMMIT_ATTEMPTS = 8


def assets_repository(kind: Kind) -> AssetsRepository:
    return AssetsRepository(table(), kind)


def owned(kind: Kind, principal: Principal, asset_id: int) -> AnyRecord:
    record = assets_repository(kind).get(asset_id, consistent=True)
    if record is None or record.user_id != principal.user_id:
        raise not_found(kind, asset_id)
    return record


def readable(kind: Kind, principal: Principal, asset_id: int) -> AnyRecord:
    record = assets_repository(kind).get(asset_id, consistent=True)
    if record is None or (record.user_id != principal.user_id and not record.is_public):
        raise not_found(kind, asset_id)
    return record


def not_found(kind: Kind, asset_id: int) -> NotFound:
    return NotFound(f"{kind.capitalize()} with ID {asset_id} not found")


def object_or_none(key: str) -> bytes | None:
    from botocore.exceptions import ClientError

    try:
        return storage.get_object(key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def record_sync(repo: AssetsRepository, record: AnyRecord, device: DeviceRecord) -> SaveRecord:
    """The device holds `record`'s version now (RomM's upsert_sync: also re-tracks it)."""
    try:
        synced = repo.put_sync(record.id, device.id, SyncRecord(last_synced_at=record.updated_at))
    except ConcurrentUpdate as exc:
        raise not_found("save", record.id) from exc
    touch_last_seen(record.user_id, device.id)
    return synced


def count_session(kind: Kind, principal: Principal, session_id: int | None) -> None:
    """`session_id` on a save transfer counts one operation of that sync session (states take none)."""
    if kind != "save" or not session_id:
        return
    from cloudsaves.services.sync import count_operation

    count_operation(principal, session_id)


def all_keys(records: Iterable[AnyRecord]) -> list[str]:
    found: list[str] = []
    for record in records:
        found.append(record.object_key)
        if record.screenshot is not None:
            found.append(record.screenshot.object_key)
    return found


def backoff() -> None:
    time.sleep(random.uniform(0.005, 0.03))
