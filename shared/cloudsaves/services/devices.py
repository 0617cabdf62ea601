"""Devices: registration with fingerprint matching, CRUD, and the helpers the save routes use."""

from __future__ import annotations

from collections.abc import Iterable

from cloudsaves.auth.scopes import Scope
from cloudsaves.aws import table
from cloudsaves.clock import now_iso
from cloudsaves.errors import ConcurrentUpdate, Conflict, NotFound
from cloudsaves.http import Principal
from cloudsaves.ids import new_uuid
from cloudsaves.models.devices import (
    MAX_DEVICE_ID_LENGTH,
    DeviceCreatePayload,
    DeviceCreateResponse,
    DeviceRecord,
    DeviceSchema,
    DeviceUpdatePayload,
    SyncMode,
)
from cloudsaves.repositories.devices import DeviceLabel, DevicesRepository

_ID_ATTEMPTS = 3


def devices_repository() -> DevicesRepository:
    return DevicesRepository(table())


# --- helpers for the save and state routes -------------------------------------------------------


def resolve_device(principal: Principal, device_id: str | None, *, write: bool) -> DeviceRecord | None:
    """The device a request names (`device_id`, else the device-bound token's), or None when none.

    Naming a device needs devices.write (write=True) or devices.read (write=False): else Forbidden.
    A device-bound token needs neither for its own device: the binding is the permission, and
    without this such a token could not even list saves. An unknown or another user's device is
    RomM's NotFound("Device with ID {id} not found").
    """
    chosen = device_id or principal.device_id
    if not chosen:
        return None
    if device_id:
        principal.require(Scope.DEVICES_WRITE if write else Scope.DEVICES_READ)
    device = _lookup(principal.user_id, chosen)
    if device is None:
        raise _not_found(chosen)
    return device


def touch_last_seen(user_id: int, device_id: str) -> None:
    """Mark the device as seen now (a device deleted meanwhile stays deleted)."""
    devices_repository().touch_last_seen(user_id, device_id, now_iso())


def device_labels(user_id: int, device_ids: Iterable[str]) -> dict[str, DeviceLabel]:
    """{device_id: label} for the user's devices among `device_ids`; absent devices are omitted."""
    valid = {d for d in device_ids if _plausible_id(d)}
    return devices_repository().labels(user_id, valid) if valid else {}


# --- the /api/devices routes ---------------------------------------------------------------------


def register_device(user_id: int, payload: DeviceCreatePayload) -> tuple[bool, DeviceCreateResponse]:
    """(created, response): the fingerprint match (200) or a new device (201); 409 when not allowed."""
    repo = devices_repository()
    existing = None if payload.allow_duplicate else find_by_fingerprint(repo.list(user_id), payload)
    if existing is not None:
        if not payload.allow_existing:
            raise Conflict(
                {
                    "error": "device_exists",
                    "message": "A device with this fingerprint already exists",
                    "device_id": existing.id,
                }
            )
        now = now_iso()
        if payload.reset_syncs:
            try:  # one write: the reset and last_seen
                repo.update(user_id, existing.id, {"syncs_reset_at": now, "last_seen": now}, now)
            except ConcurrentUpdate as exc:  # deleted since it was matched
                raise _not_found(existing.id) from exc
        else:
            repo.touch_last_seen(user_id, existing.id, now)
        return False, DeviceCreateResponse.of(existing)

    fields = payload.model_dump(
        include={
            "name",
            "platform",
            "client",
            "client_version",
            "ip_address",
            "mac_address",
            "hostname",
            "client_device_identifier",
            "sync_config",
        }
    )
    for _ in range(_ID_ATTEMPTS):
        now = now_iso()
        device = DeviceRecord(
            id=new_uuid(),
            user_id=user_id,
            sync_mode=payload.sync_mode or SyncMode.API,
            sync_enabled=True,
            last_seen=now,
            created_at=now,
            updated_at=now,
            **fields,
        )
        try:
            repo.create(device)
        except ConcurrentUpdate:
            continue  # a uuid4 collision: draw again
        return True, DeviceCreateResponse.of(device)
    raise RuntimeError("Could not allocate a device id")


def find_by_fingerprint(devices: list[DeviceRecord], payload: DeviceCreatePayload) -> DeviceRecord | None:
    """Same MAC address (case-insensitive), or else same hostname and platform; the oldest match wins."""
    ordered = sorted(devices, key=lambda d: (d.created_at, d.id))
    mac = _norm(payload.mac_address).lower()
    if mac:
        for device in ordered:
            if _norm(device.mac_address).lower() == mac:
                return device
    hostname, platform = _norm(payload.hostname), _norm(payload.platform)
    if hostname and platform:
        for device in ordered:
            if _norm(device.hostname) == hostname and _norm(device.platform) == platform:
                return device
    return None


def list_devices(user_id: int) -> list[DeviceSchema]:
    devices = sorted(devices_repository().list(user_id), key=lambda d: (d.created_at, d.id))
    return [DeviceSchema.of(device) for device in devices]


def get_device(user_id: int, device_id: str) -> DeviceSchema:
    device = _lookup(user_id, device_id)
    if device is None:
        raise _not_found(device_id)
    return DeviceSchema.of(device)


def update_device(user_id: int, device_id: str, payload: DeviceUpdatePayload) -> DeviceSchema:
    """Change only the fields the body names; `updated_at` moves when anything was named."""
    changes = payload.changes()
    if not changes:
        return get_device(user_id, device_id)
    if not _plausible_id(device_id):
        raise _not_found(device_id)
    try:
        device = devices_repository().update(user_id, device_id, changes, now_iso())
    except ConcurrentUpdate as exc:
        raise _not_found(device_id) from exc
    return DeviceSchema.of(device)


def delete_device(user_id: int, device_id: str) -> None:
    """Delete the device (a route naming it afterwards gets 404). Its sync records on saves stay, unseen:
    device ids are never reused and device_syncs lists only existing devices."""
    if not _plausible_id(device_id) or not devices_repository().delete(user_id, device_id):
        raise _not_found(device_id)


def _lookup(user_id: int, device_id: str) -> DeviceRecord | None:
    return devices_repository().get(user_id, device_id) if _plausible_id(device_id) else None


def _plausible_id(device_id: str) -> bool:
    # Longer ids are never ours, and would make an invalid key.
    return 0 < len(device_id) <= MAX_DEVICE_ID_LENGTH


def _not_found(device_id: str) -> NotFound:
    return NotFound(f"Device with ID {device_id} not found")


def _norm(value: str | None) -> str:
    return (value or "").strip()
