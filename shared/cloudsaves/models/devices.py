"""Devices: API models (RomM's DeviceSchema / DeviceCreatePayload / DeviceUpdatePayload) and the record."""

import json
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, field_serializer, field_validator, model_validator

from cloudsaves.clock import parse_iso
from cloudsaves.models.base import BaseModel

MASK = "********"
SENSITIVE_SYNC_CONFIG_KEYS = frozenset({"ssh_password", "ssh_key_path"})
MAX_DEVICE_ID_LENGTH = 64
MAX_SYNC_CONFIG_BYTES = 16 * 1024

Name = Annotated[str, Field(max_length=255)]
Short = Annotated[str, Field(max_length=100)]
Address = Annotated[str, Field(max_length=64)]


class SyncMode(StrEnum):
    API = "api"
    FILE_TRANSFER = "file_transfer"
    PUSH_PULL = "push_pull"


class _DeviceFields(BaseModel):
    # RomM clients send more than we keep; extra fields are ignored as FastAPI does.
    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    platform: Short | None = None
    client: Short | None = None
    client_version: Short | None = None
    ip_address: Address | None = None
    mac_address: Address | None = None
    hostname: Name | None = None
    client_device_identifier: Name | None = None
    sync_mode: SyncMode | None = None
    sync_config: dict[str, Any] | None = None

    @field_validator("sync_config")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value, separators=(",", ":"))) > MAX_SYNC_CONFIG_BYTES:
            raise ValueError(f"sync_config is larger than {MAX_SYNC_CONFIG_BYTES} bytes")
        return value


class DeviceCreatePayload(_DeviceFields):
    allow_existing: bool = True
    allow_duplicate: bool = False
    reset_syncs: bool = False

    @model_validator(mode="after")
    def _duplicate_disables_existing(self) -> Self:
        if self.allow_duplicate:
            self.allow_existing = False
        return self


class DeviceUpdatePayload(_DeviceFields):
    """A partial update: only the fields present in the body change (`model_fields_set`)."""

    sync_enabled: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the body named; null clears a field, but is ignored for sync_mode and sync_enabled."""
        data = self.model_dump(mode="json", include=self.model_fields_set)
        return {k: v for k, v in data.items() if v is not None or k not in {"sync_mode", "sync_enabled"}}


class DeviceRecord(BaseModel):
    """A device as stored (sync_config unmasked)."""

    id: str
    user_id: int
    name: str | None = None
    platform: str | None = None
    client: str | None = None
    client_version: str | None = None
    ip_address: str | None = None
    mac_address: str | None = None
    hostname: str | None = None
    client_device_identifier: str | None = None
    sync_mode: SyncMode = SyncMode.API
    sync_enabled: bool = True
    sync_config: dict[str, Any] | None = None
    last_seen: str | None = None
    created_at: str
    updated_at: str
    # Set by `reset_syncs`: the device's sync records from before it no longer count. One write, where
    # removing them from every save of the user would be unbounded work.
    syncs_reset_at: str | None = None

    def counts_sync(self, last_synced_at: str) -> bool:
        return sync_outlives_reset(last_synced_at, self.syncs_reset_at)


def sync_outlives_reset(last_synced_at: str, syncs_reset_at: str | None) -> bool:
    """Whether a device's sync record still counts: it was made after the device last reset its syncs."""
    return syncs_reset_at is None or parse_iso(last_synced_at) > parse_iso(syncs_reset_at)


class DeviceSchema(DeviceRecord):
    """RomM's DeviceSchema: the record with the secrets in sync_config masked."""

    syncs_reset_at: str | None = Field(default=None, exclude=True)  # ours, not RomM's

    @field_serializer("sync_config")
    def _mask(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return value
        return {k: MASK if k in SENSITIVE_SYNC_CONFIG_KEYS else v for k, v in value.items()}

    @classmethod
    def of(cls, device: DeviceRecord) -> Self:
        return cls.model_validate(device.model_dump())


class DeviceCreateResponse(BaseModel):
    device_id: str
    name: str | None
    created_at: str

    @classmethod
    def of(cls, device: DeviceRecord) -> Self:
        return cls(device_id=device.id, name=device.name, created_at=device.created_at)
