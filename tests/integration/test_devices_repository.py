"""DevicesRepository and the device helpers against moto's DynamoDB (table from template.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudsaves.aws import table
from cloudsaves.errors import Forbidden, NotFound
from cloudsaves.models.devices import DeviceCreatePayload, DeviceRecord
from cloudsaves.repositories.devices import DeviceLabel, DevicesRepository
from cloudsaves.services import devices as service
from tests.conftest import make_principal

pytestmark = pytest.mark.usefixtures("aws")

USER = 1001
OTHER = 2002


def _device(device_id: str, user_id: int = USER, **fields: Any) -> DeviceRecord:
    now = "2025-01-01T00:00:00.000000+00:00"
    return DeviceRecord(id=device_id, user_id=user_id, created_at=now, updated_at=now, **fields)


def _record(device_id: str) -> dict[str, Any]:
    return {"last_synced_at": "2025-02-01T00:00:00.000000+00:00", "is_untracked": False}


@pytest.fixture
def repo() -> DevicesRepository:
    return DevicesRepository(table())


def test_repository_roundtrip_keeps_free_form_sync_config(repo: DevicesRepository) -> None:
    config = {"ssh_password": "hunter2", "ratio": 0.5, "empty": "", "nested": {"paths": ["/a", "/b"]}}
    repo.create(_device("d1", name="Deck", sync_config=config))

    stored = repo.get(USER, "d1")

    assert stored is not None
    assert stored.sync_config == config
    assert stored.name == "Deck"


def test_repository_list_returns_only_the_users_devices(repo: DevicesRepository) -> None:
    repo.create(_device("mine-1"))
    repo.create(_device("mine-2"))
    repo.create(_device("theirs", user_id=OTHER))

    assert sorted(d.id for d in repo.list(USER)) == ["mine-1", "mine-2"]


def test_repository_update_of_missing_device_raises(repo: DevicesRepository) -> None:
    from cloudsaves.errors import ConcurrentUpdate

    with pytest.raises(ConcurrentUpdate):
        repo.update(USER, "ghost", {"name": "x"}, "2025-03-01T00:00:00.000000+00:00")
    assert repo.get(USER, "ghost") is None


def test_device_labels_return_only_the_users_existing_devices(repo: DevicesRepository) -> None:
    reset_at = "2025-03-01T00:00:00.000000+00:00"
    repo.create(_device("d1", name="Deck", syncs_reset_at=reset_at))
    repo.create(_device("d2"))
    repo.create(_device("d3", user_id=OTHER, name="Not yours"))

    labels = service.device_labels(USER, ["d1", "d2", "d3", "missing", "d1", "x" * 200])

    assert labels == {"d1": DeviceLabel("Deck", reset_at), "d2": DeviceLabel(None, None)}


def test_device_labels_handle_more_than_one_batch(repo: DevicesRepository) -> None:
    for index in range(130):
        repo.create(_device(f"dev-{index:03d}", name=f"Device {index}"))

    labels = service.device_labels(USER, [f"dev-{index:03d}" for index in range(130)])

    assert len(labels) == 130
    assert labels["dev-129"].name == "Device 129"


def test_device_labels_of_nothing_are_empty() -> None:
    assert service.device_labels(USER, []) == {}


def test_touch_last_seen_moves_last_seen_only(repo: DevicesRepository) -> None:
    repo.create(_device("d1", last_seen=None))

    service.touch_last_seen(USER, "d1")

    device = repo.get(USER, "d1")
    assert device is not None
    assert device.last_seen is not None and device.last_seen > device.created_at
    assert device.updated_at == device.created_at


def test_touch_last_seen_does_not_resurrect_a_deleted_device(repo: DevicesRepository) -> None:
    service.touch_last_seen(USER, "gone")

    assert repo.get(USER, "gone") is None


def test_resolve_device_uses_the_named_device(repo: DevicesRepository) -> None:
    repo.create(_device("d1", name="Deck"))

    device = service.resolve_device(make_principal(user_id=USER), "d1", write=True)

    assert device is not None and device.name == "Deck"


def test_resolve_device_falls_back_to_the_tokens_device(repo: DevicesRepository) -> None:
    repo.create(_device("bound"))

    device = service.resolve_device(make_principal(user_id=USER, device_id="bound"), None, write=False)

    assert device is not None and device.id == "bound"


def test_resolve_device_without_any_device_is_none() -> None:
    assert service.resolve_device(make_principal(user_id=USER), None, write=True) is None


def test_resolve_device_of_another_user_is_not_found(repo: DevicesRepository) -> None:
    repo.create(_device("theirs", user_id=OTHER))

    with pytest.raises(NotFound) as error:
        service.resolve_device(make_principal(user_id=USER), "theirs", write=False)
    assert error.value.detail == "Device with ID theirs not found"  # RomM's text


def test_resolve_device_of_an_overlong_id_is_not_found() -> None:
    with pytest.raises(NotFound):
        service.resolve_device(make_principal(user_id=USER), "x" * 2000, write=False)


@pytest.mark.parametrize(("write", "granted"), [(True, "devices.read"), (False, "devices.write")])
def test_resolve_device_without_the_scope_is_forbidden(
    repo: DevicesRepository, write: bool, granted: str
) -> None:
    repo.create(_device("d1"))
    principal = make_principal(user_id=USER, scopes=frozenset({"assets.read", "assets.write", granted}))

    with pytest.raises(Forbidden):
        service.resolve_device(principal, "d1", write=write)


def test_register_device_then_fingerprint_match_returns_the_same_device() -> None:
    created, first = service.register_device(
        USER, DeviceCreatePayload(name="Deck", mac_address="AA:BB:CC:00:11:22")
    )
    again, second = service.register_device(
        USER, DeviceCreatePayload(name="Other", mac_address="aa:bb:cc:00:11:22")
    )

    assert (created, again) == (True, False)
    assert second.device_id == first.device_id
    assert second.name == "Deck"
