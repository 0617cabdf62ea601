"""Device services against an in-memory repository: fingerprint rules, registration paths, helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from cloudsaves.errors import ConcurrentUpdate, Conflict, Forbidden, NotFound
from cloudsaves.models.devices import DeviceCreatePayload, DeviceRecord, DeviceUpdatePayload
from cloudsaves.repositories.devices import DeviceLabel
from cloudsaves.services import devices as service
from tests.conftest import make_principal

USER = 7


class FakeDevices:
    """The DevicesRepository surface the services use, in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, str], DeviceRecord] = {}
        self.touched: list[tuple[int, str, str]] = []
        self.collide_next = 0

    def get(self, user_id: int, device_id: str, *, consistent: bool = False) -> DeviceRecord | None:
        return self.items.get((user_id, device_id))

    def list(self, user_id: int) -> list[DeviceRecord]:
        return [d for (owner, _), d in self.items.items() if owner == user_id]

    def create(self, device: DeviceRecord) -> None:
        if self.collide_next:
            self.collide_next -= 1
            raise ConcurrentUpdate("taken")
        self.items[(device.user_id, device.id)] = device

    def update(self, user_id: int, device_id: str, changes: dict[str, Any], updated_at: str) -> DeviceRecord:
        current = self.items.get((user_id, device_id))
        if current is None:
            raise ConcurrentUpdate("missing")
        updated = current.model_copy(update={**changes, "updated_at": updated_at})
        self.items[(user_id, device_id)] = DeviceRecord.model_validate(updated.model_dump())
        return self.items[(user_id, device_id)]

    def touch_last_seen(self, user_id: int, device_id: str, seen_at: str) -> None:
        self.touched.append((user_id, device_id, seen_at))

    def delete(self, user_id: int, device_id: str) -> bool:
        return self.items.pop((user_id, device_id), None) is not None

    def labels(self, user_id: int, device_ids: Iterable[str]) -> dict[str, DeviceLabel]:
        return {
            d: DeviceLabel(self.items[(user_id, d)].name, self.items[(user_id, d)].syncs_reset_at)
            for d in device_ids
            if (user_id, d) in self.items
        }


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeDevices:
    repo = FakeDevices()
    monkeypatch.setattr(service, "devices_repository", lambda: repo)
    return repo


def _device(device_id: str, created_at: str = "2025-01-01T00:00:00+00:00", **fields: Any) -> DeviceRecord:
    return DeviceRecord(id=device_id, user_id=USER, created_at=created_at, updated_at=created_at, **fields)


def _payload(**fields: Any) -> DeviceCreatePayload:
    return DeviceCreatePayload.model_validate(fields)


# --- fingerprint ---------------------------------------------------------------------------------


def test_find_by_fingerprint_matches_mac_case_insensitively() -> None:
    devices = [_device("a", mac_address="aa:bb:cc:dd:ee:ff")]

    assert service.find_by_fingerprint(devices, _payload(mac_address="AA:BB:CC:DD:EE:FF")) is devices[0]


def test_find_by_fingerprint_prefers_mac_over_hostname_and_platform() -> None:
    by_host = _device("host", created_at="2024-01-01T00:00:00+00:00", hostname="deck", platform="linux")
    by_mac = _device("mac", mac_address="11:22:33:44:55:66")

    found = service.find_by_fingerprint(
        [by_host, by_mac], _payload(mac_address="11:22:33:44:55:66", hostname="deck", platform="linux")
    )

    assert found is by_mac


def test_find_by_fingerprint_falls_back_to_hostname_and_platform_when_mac_unknown() -> None:
    device = _device("a", hostname="deck", platform="linux", mac_address="00:00:00:00:00:01")

    found = service.find_by_fingerprint(
        [device], _payload(mac_address="00:00:00:00:00:02", hostname="deck", platform="linux")
    )

    assert found is device


@pytest.mark.parametrize(
    "fields",
    [
        {"hostname": "deck"},
        {"platform": "linux"},
        {"hostname": "deck", "platform": "windows"},
        {"mac_address": ""},
        {"mac_address": "   ", "hostname": "", "platform": ""},
        {},
    ],
)
def test_find_by_fingerprint_needs_a_full_non_empty_match(fields: dict[str, Any]) -> None:
    devices = [
        _device("a", hostname="deck", platform="linux", mac_address=""),
        _device("b", mac_address=None),
    ]

    assert service.find_by_fingerprint(devices, _payload(**fields)) is None


def test_find_by_fingerprint_returns_the_oldest_of_several_matches() -> None:
    newer = _device("newer", created_at="2025-06-01T00:00:00+00:00", mac_address="aa")
    older = _device("older", created_at="2025-01-01T00:00:00+00:00", mac_address="AA")

    assert service.find_by_fingerprint([newer, older], _payload(mac_address="aa")) is older


# --- registration --------------------------------------------------------------------------------


def test_register_device_creates_with_romm_defaults(fake: FakeDevices) -> None:
    created, response = service.register_device(USER, _payload(name="Deck", sync_config={"a": 1}))

    stored = fake.items[(USER, response.device_id)]
    assert created is True
    assert stored.sync_mode == "api" and stored.sync_enabled is True
    assert stored.last_seen == stored.created_at == stored.updated_at == response.created_at
    assert stored.sync_config == {"a": 1}
    assert len(response.device_id) == 36


def test_register_device_retries_an_id_collision(fake: FakeDevices) -> None:
    fake.collide_next = 1

    created, response = service.register_device(USER, _payload(name="Deck"))

    assert created is True
    assert (USER, response.device_id) in fake.items


def test_register_device_existing_match_touches_last_seen_without_reset(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a", name="Deck", mac_address="aa")

    created, response = service.register_device(USER, _payload(mac_address="AA", name="Ignored"))

    assert (created, response.device_id, response.name) == (False, "a", "Deck")
    assert [t[:2] for t in fake.touched] == [(USER, "a")]
    assert fake.items[(USER, "a")].syncs_reset_at is None


def test_register_device_reset_syncs_marks_the_match_reset(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a", mac_address="aa")

    service.register_device(USER, _payload(mac_address="aa", reset_syncs=True))

    device = fake.items[(USER, "a")]
    assert device.syncs_reset_at is not None and device.last_seen == device.syncs_reset_at  # one write


def test_register_device_reset_syncs_of_a_device_deleted_meanwhile_is_404(
    fake: FakeDevices, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.items[(USER, "a")] = _device("a", mac_address="aa")
    matched = fake.list(USER)
    monkeypatch.setattr(fake, "list", lambda user_id: matched)
    del fake.items[(USER, "a")]  # deleted between the fingerprint match and the reset

    with pytest.raises(NotFound):
        service.register_device(USER, _payload(mac_address="aa", reset_syncs=True))


def test_register_device_conflict_carries_the_existing_id(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a", hostname="deck", platform="linux")

    with pytest.raises(Conflict) as error:
        service.register_device(
            USER, _payload(hostname="deck", platform="linux", allow_existing=False, reset_syncs=True)
        )

    assert error.value.detail["error"] == "device_exists"
    assert error.value.detail["device_id"] == "a"
    assert fake.items[(USER, "a")].syncs_reset_at is None  # a refused registration resets nothing


def test_register_device_allow_duplicate_skips_matching(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a", mac_address="aa")

    created, response = service.register_device(USER, _payload(mac_address="aa", allow_duplicate=True))

    assert created is True and response.device_id != "a"
    assert len(fake.list(USER)) == 2


# --- update / delete -----------------------------------------------------------------------------


def test_update_device_with_nothing_named_does_not_write(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a", name="Deck")

    shown = service.update_device(USER, "a", DeviceUpdatePayload.model_validate({}))

    assert shown.updated_at == "2025-01-01T00:00:00+00:00"


def test_update_device_unknown_is_not_found(fake: FakeDevices) -> None:
    with pytest.raises(NotFound):
        service.update_device(USER, "nope", DeviceUpdatePayload.model_validate({"name": "x"}))


def test_delete_device(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a")

    service.delete_device(USER, "a")

    assert (USER, "a") not in fake.items


def test_delete_device_unknown_is_not_found(fake: FakeDevices) -> None:
    with pytest.raises(NotFound):
        service.delete_device(USER, "nope")


# --- helpers -------------------------------------------------------------------------------------


def test_resolve_device_explicit_id_wins_over_the_tokens_device(fake: FakeDevices) -> None:
    fake.items[(USER, "explicit")] = _device("explicit")
    fake.items[(USER, "bound")] = _device("bound")

    device = service.resolve_device(make_principal(user_id=USER, device_id="bound"), "explicit", write=True)

    assert device is not None and device.id == "explicit"


def test_resolve_device_checks_scope_before_looking_up(fake: FakeDevices) -> None:
    principal = make_principal(user_id=USER, scopes=frozenset({"assets.write"}))

    with pytest.raises(Forbidden):
        service.resolve_device(principal, "unknown", write=True)


def test_resolve_device_unknown_is_not_found(fake: FakeDevices) -> None:
    with pytest.raises(NotFound):
        service.resolve_device(make_principal(user_id=USER), "unknown", write=False)


def test_device_labels_skip_implausible_ids(fake: FakeDevices) -> None:
    fake.items[(USER, "a")] = _device("a", name="Deck")

    assert service.device_labels(USER, ["a", "", "z" * 65]) == {"a": DeviceLabel("Deck", None)}
