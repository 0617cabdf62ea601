"""Activity: what a user's devices are playing now, refreshed by device heartbeats (RomM's /api/activity).

Unlike RomM (one household's server, where everyone sees everyone's sessions) a user sees only their
own activity: this service is multi-tenant. Entries live 90 s past the last heartbeat (RomM's TTL).
"""

from __future__ import annotations

from cloudsaves.aws import table
from cloudsaves.clock import iso, utcnow
from cloudsaves.errors import NotFound
from cloudsaves.http import Principal
from cloudsaves.models.activity import ActivityEntrySchema, DeviceHeartbeatPayload
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH
from cloudsaves.repositories.activity import ActivityRepository

ACTIVITY_TTL_SECONDS = 90


def activity_repository() -> ActivityRepository:
    return ActivityRepository(table())


def record_heartbeat(principal: Principal, payload: DeviceHeartbeatPayload) -> ActivityEntrySchema:
    """Store or refresh the device's entry (keeping `started_at`) and move the device's `last_seen`."""
    from cloudsaves.services.devices import devices_repository, touch_last_seen
    from cloudsaves.services.platforms import platform_name
    from cloudsaves.services.roms import roms_repository

    rom = roms_repository().get(payload.rom_id)
    if rom is None:
        raise NotFound(f"ROM {payload.rom_id} not found")
    device = None
    if len(payload.device_id) <= MAX_DEVICE_ID_LENGTH:
        device = devices_repository().get(principal.user_id, payload.device_id)
    if device is None:
        raise NotFound(f"Device {payload.device_id} not found for this user")
    now = utcnow()
    now_epoch = int(now.timestamp())
    repo = activity_repository()
    existing = repo.get(principal.user_id, device.id, now_epoch)
    entry = ActivityEntrySchema(
        user_id=principal.user_id,
        username=principal.username,
        rom_id=rom.id,
        rom_name=rom.name or rom.fs_name,
        platform_slug=rom.platform_slug,
        platform_name=platform_name(rom.platform_slug),
        device_id=device.id,
        device_type=device.client or "unknown",
        started_at=existing.started_at if existing else iso(now),
    )
    repo.put(entry, now_epoch + ACTIVITY_TTL_SECONDS)
    touch_last_seen(principal.user_id, device.id)
    return entry


def clear_activity(principal: Principal, device_id: str) -> None:
    """End the device's session now (a device that had none: nothing to do)."""
    if len(device_id) <= MAX_DEVICE_ID_LENGTH:
        activity_repository().delete(principal.user_id, device_id)


def list_activity(principal: Principal, rom_id: int | None = None) -> list[ActivityEntrySchema]:
    """The caller's live sessions, optionally of one ROM, oldest first."""
    entries = activity_repository().list(principal.user_id, int(utcnow().timestamp()))
    if rom_id is not None:
        entries = [entry for entry in entries if entry.rom_id == rom_id]
    return sorted(entries, key=lambda entry: (entry.started_at, entry.device_id))
