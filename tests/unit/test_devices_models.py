"""Device request/response models: RomM's field names, defaults, bounds and secret masking."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from cloudsaves.models.devices import (
    MASK,
    DeviceCreatePayload,
    DeviceCreateResponse,
    DeviceRecord,
    DeviceSchema,
    DeviceUpdatePayload,
    SyncMode,
)

NOW = "2025-01-01T00:00:00.000000+00:00"


def test_device_create_payload_defaults_match_romm() -> None:
    payload = DeviceCreatePayload.model_validate({})

    assert (payload.allow_existing, payload.allow_duplicate, payload.reset_syncs) == (True, False, False)
    assert payload.sync_mode is None


def test_device_create_payload_allow_duplicate_forces_allow_existing_false() -> None:
    payload = DeviceCreatePayload.model_validate({"allow_duplicate": True, "allow_existing": True})

    assert payload.allow_existing is False


def test_device_create_payload_ignores_unknown_fields() -> None:
    payload = DeviceCreatePayload.model_validate({"name": "Deck", "firmware": "3.5"})

    assert payload.name == "Deck"
    assert "firmware" not in payload.model_dump()


@pytest.mark.parametrize(
    "body",
    [
        {"sync_mode": "rsync"},
        {"name": "n" * 256},
        {"platform": "p" * 101},
        {"ip_address": "1" * 65},
        {"hostname": "h" * 256},
        {"sync_config": ["not", "a", "dict"]},
        {"sync_config": {"k": "v" * 17_000}},
        {"name": 42},
    ],
)
def test_device_create_payload_rejects_bad_values(body: dict) -> None:
    with pytest.raises(ValidationError):
        DeviceCreatePayload.model_validate(body)


def test_sync_mode_accepts_romms_three_values() -> None:
    assert [SyncMode(v) for v in ("api", "file_transfer", "push_pull")] == list(SyncMode)


def test_device_schema_masks_ssh_secrets_only() -> None:
    device = DeviceRecord(
        id="d1",
        user_id=1,
        created_at=NOW,
        updated_at=NOW,
        sync_config={"ssh_password": "hunter2", "ssh_key_path": "/k", "ssh_user": "deck"},
    )

    shown = json.loads(DeviceSchema.of(device).model_dump_json())

    assert shown["sync_config"] == {"ssh_password": MASK, "ssh_key_path": MASK, "ssh_user": "deck"}
    assert device.sync_config is not None and device.sync_config["ssh_password"] == "hunter2"


def test_device_schema_keeps_null_sync_config() -> None:
    device = DeviceRecord(id="d1", user_id=1, created_at=NOW, updated_at=NOW)

    shown = DeviceSchema.of(device).model_dump(mode="json")

    assert shown["sync_config"] is None
    assert (shown["sync_mode"], shown["sync_enabled"]) == ("api", True)


def test_device_create_response_has_romms_three_fields() -> None:
    device = DeviceRecord(id="d1", user_id=1, name="Deck", created_at=NOW, updated_at=NOW)

    assert DeviceCreateResponse.of(device).model_dump() == {
        "device_id": "d1",
        "name": "Deck",
        "created_at": NOW,
    }


def test_device_update_payload_changes_are_only_the_fields_sent() -> None:
    payload = DeviceUpdatePayload.model_validate({"sync_enabled": False, "hostname": None})

    assert payload.changes() == {"sync_enabled": False, "hostname": None}


def test_device_update_payload_null_sync_mode_and_enabled_are_ignored() -> None:
    payload = DeviceUpdatePayload.model_validate({"sync_mode": None, "sync_enabled": None, "name": "x"})

    assert payload.changes() == {"name": "x"}


def test_device_update_payload_serialises_sync_mode_as_its_value() -> None:
    assert DeviceUpdatePayload.model_validate({"sync_mode": "push_pull"}).changes() == {
        "sync_mode": "push_pull"
    }
