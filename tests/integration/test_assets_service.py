"""Saves and states: the service and repository against moto in-process (table, bucket from template.yaml)."""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace
from typing import Any

import pytest

from cloudsaves import storage
from cloudsaves.aws import s3_client, table
from cloudsaves.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from cloudsaves.models.assets import StoredFile, UploadParams
from cloudsaves.models.devices import DeviceCreatePayload
from cloudsaves.models.roms import RomUpsert
from cloudsaves.models.sync import SyncNegotiatePayload
from cloudsaves.repositories import keys
from cloudsaves.repositories.assets import AssetsRepository
from cloudsaves.services import (
    asset_changes,
    asset_downloads,
    asset_reads,
    asset_uploads,
    device_syncs,
    slot_retention,
)
from cloudsaves.services.devices import register_device
from cloudsaves.services.roms import upsert_rom
from cloudsaves.services.sync import get_session, negotiate
from cloudsaves.settings import get_settings
from tests.assets_support import multipart, zip_bytes
from tests.conftest import TEST_BUCKET, make_principal

pytestmark = pytest.mark.usefixtures("aws")

ROM = 10
OTHER_ROM = 11
USER = make_principal(user_id=1001)
OTHER = make_principal(user_id=2002)


@pytest.fixture(autouse=True)
def roms(aws: None) -> None:
    upsert_rom(
        ROM,
        RomUpsert(
            name="Zelda", fs_name="zelda.gba", platform_id=1, platform_slug="gba", platform_fs_slug="gba"
        ),
    )
    upsert_rom(
        OTHER_ROM,
        RomUpsert(
            name="Mario", fs_name="mario.sfc", platform_id=2, platform_slug="snes", platform_fs_slug="snes"
        ),
    )


def device(name: str = "Deck", user_id: int = USER.user_id) -> str:
    return register_device(user_id, DeviceCreatePayload(name=name, allow_duplicate=True))[1].device_id


def request(files: dict[str, tuple[str | None, bytes]]) -> SimpleNamespace:
    body, content_type = multipart(files)
    return SimpleNamespace(
        body=base64.b64encode(body).decode(), is_base64_encoded=True, headers={"content-type": content_type}
    )


def upload(
    data: bytes = b"save-bytes",
    name: str = "zelda.sav",
    *,
    kind: str = "save",
    principal=USER,
    screenshot: bytes | None = None,
    **params: Any,
):
    files = {"saveFile" if kind == "save" else "stateFile": (name, data)}
    if screenshot is not None:
        files["screenshotFile"] = ("shot.png", screenshot)
    return asset_uploads.upload_from_request(
        kind, principal, UploadParams(rom_id=ROM, **params), request(files)
    )


def object_keys() -> set[str]:
    return {o["Key"] for o in s3_client().list_objects_v2(Bucket=TEST_BUCKET).get("Contents", [])}


def items_with_prefix(prefix: str) -> list[dict[str, Any]]:
    # Tests only: a Scan to prove what is (not) left behind; the code itself never scans.
    return [i for i in table().scan()["Items"] if str(i["pk"]).startswith(prefix)]


# --- upload: names, hashes, bytes ----------------------------------------------------------------


def test_upload_save_stores_bytes_and_romm_fields() -> None:
    save = upload(b"hello", "Zelda (USA).sav", emulator="mgba")
    assert save.file_name == "Zelda (USA).sav"
    assert (save.file_name_no_tags, save.file_name_no_ext, save.file_extension) == (
        "Zelda",
        "Zelda (USA)",
        "sav",
    )
    assert save.file_path == f"users/{USER.user_id}/saves/gba/{ROM}/mgba"
    assert save.full_path == f"{save.file_path}/Zelda (USA).sav"
    assert save.download_path.startswith(f"/api/saves/{save.id}/content?timestamp=")
    assert save.content_hash == hashlib.md5(b"hello").hexdigest()
    assert (save.file_size_bytes, save.slot, save.device_syncs, save.is_public) == (5, None, [], False)
    assert asset_downloads.download_asset("save", USER, save.id).data == b"hello"


def test_upload_zip_content_hash_uses_romm_member_rule() -> None:
    members = {"b.srm": b"second", "a.srm": b"first"}
    save = upload(zip_bytes(members), "game.zip")
    lines = "\n".join(f"{n}:{hashlib.md5(members[n]).hexdigest()}" for n in sorted(members))
    assert save.content_hash == hashlib.md5(lines.encode()).hexdigest()
    assert upload(zip_bytes(members, reverse=True), "game.zip", slot="s").content_hash == save.content_hash


def test_upload_sanitises_traversal_and_keys_stay_under_the_user() -> None:
    save = upload(b"x", "../../../etc/passwd", emulator="../../evil")
    assert save.file_name == "passwd"
    assert ".." not in save.file_path.split("/")
    assert all(k.startswith(f"users/{USER.user_id}/saves/") for k in object_keys())


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"saveFile": ("..", b"x")}, 400),
        ({"saveFile": ("\x00", b"x")}, 400),
        ({"saveFile": (None, b"x")}, 400),
        ({"saveFile": ("a.sav", b"")}, 400),
        ({"other": ("a.sav", b"x")}, 400),
        ({"saveFile": ("a.sav", b"x"), "screenshotFile": ("..", b"png")}, 400),
    ],
)
def test_upload_bad_files_answer_4xx_and_leave_nothing(files, status) -> None:
    with pytest.raises(BadRequest) as caught:
        asset_uploads.upload_from_request("save", USER, UploadParams(rom_id=ROM), request(files))
    assert caught.value.status_code == status
    assert object_keys() == set() and items_with_prefix("SAVE") == []


def test_upload_malformed_multipart_is_400() -> None:
    broken = SimpleNamespace(
        body="--x\r\nnot a part",
        is_base64_encoded=False,
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    with pytest.raises(BadRequest):
        asset_uploads.upload_from_request("save", USER, UploadParams(rom_id=ROM), broken)


def test_upload_unknown_rom_is_404_and_stores_nothing() -> None:
    with pytest.raises(NotFound, match="ROM with ID 999 not found"):
        asset_uploads.upload_from_request(
            "save", USER, UploadParams(rom_id=999), request({"saveFile": ("a.sav", b"x")})
        )
    assert object_keys() == set()


def test_upload_too_large_is_413_naming_direct_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_INLINE_UPLOAD_BYTES", "1024")
    get_settings.cache_clear()
    with pytest.raises(PayloadTooLarge, match="POST /api/saves/uploads"):
        upload(b"x" * 2000)
    assert object_keys() == set()


def test_upload_emulator_with_control_characters_is_400() -> None:
    with pytest.raises(BadRequest, match="emulator"):
        upload(emulator="mgba\x00")


# --- same name, slots, dedup -----------------------------------------------------------------------


def test_upload_without_slot_updates_same_name_in_place() -> None:
    first = upload(b"one", screenshot=b"png-1")
    second = upload(b"two", emulator="snes9x")
    assert second.id == first.id
    assert second.content_hash == hashlib.md5(b"two").hexdigest() and second.emulator == "snes9x"
    assert second.updated_at > first.updated_at and second.created_at == first.created_at
    assert second.screenshot is not None and second.screenshot.id == first.screenshot.id  # kept: none sent
    assert asset_downloads.download_asset("save", USER, first.id).data == b"two"
    assert len(object_keys()) == 2  # the new save bytes and the screenshot; the old bytes are noncurrent


def test_upload_same_name_for_states_updates_in_place_and_hashes() -> None:
    first = upload(b"state-1", "zelda.state", kind="state")
    second = upload(b"state-2", "zelda.state", kind="state", slot="ignored", device_id="ignored")
    assert second.id == first.id
    assert second.content_hash == hashlib.md5(b"state-2").hexdigest()
    assert not hasattr(second, "slot")


def test_upload_without_slot_named_as_a_slot_save_refreshes_that_row_as_romm() -> None:
    # Given a slot save, stored under its tagged name, that a client downloaded
    slotted = upload(b"one", "zelda.sav", slot="quick", emulator="mgba")
    assert slotted.file_name != "zelda.sav"

    # When it uploads the file back without a slot, under that stored name and in the same folder
    refreshed = upload(b"two", slotted.file_name, emulator="mgba")

    # Then that row is refreshed (RomM's colliding save), not doubled: same id, slot kept, old bytes gone
    assert refreshed.id == slotted.id and refreshed.slot == "quick"
    assert refreshed.content_hash == hashlib.md5(b"two").hexdigest()
    assert [s.id for s in asset_reads.list_assets("save", USER, limit=10).items] == [slotted.id]
    assert asset_reads.saves_summary(USER, ROM).slots[0].latest.id == slotted.id
    assert asset_downloads.download_asset("save", USER, slotted.id).data == b"two"
    assert len(object_keys()) == 1


def test_upload_without_slot_named_as_a_slot_save_elsewhere_is_a_new_save() -> None:
    slotted = upload(b"one", "zelda.sav", slot="quick", emulator="mgba")

    other_emulator = upload(b"two", slotted.file_name, emulator="vba")
    other_rom = asset_uploads.upload_from_request(
        "save",
        USER,
        UploadParams(rom_id=OTHER_ROM, emulator="mgba"),
        request({"saveFile": (slotted.file_name, b"3")}),
    )

    assert len({slotted.id, other_emulator.id, other_rom.id}) == 3
    assert asset_downloads.download_asset("save", USER, slotted.id).data == b"one"


def test_upload_without_slot_named_as_a_slot_save_respects_the_device_guard() -> None:
    deck, laptop = device("Deck"), device("Laptop")
    slotted = upload(b"one", "zelda.sav", slot="quick", device_id=deck)
    upload(b"two", slotted.file_name, device_id=laptop)  # the laptop now holds the refreshed row

    with pytest.raises(Conflict, match="Save has been updated since your last sync"):
        upload(b"three", slotted.file_name, device_id=deck)
    assert asset_downloads.download_asset("save", USER, slotted.id).data == b"two"


def test_upload_with_slot_tags_name_and_keeps_history() -> None:
    first = upload(b"one", "zelda [2020-01-01_00-00-00].sav", slot="auto")
    second = upload(b"two", "zelda.sav", slot="auto")
    assert first.id != second.id
    assert first.file_name.count("[") == 1 and "2020" not in first.file_name
    assert first.file_name_no_tags == "zelda"
    page = asset_reads.list_assets("save", USER, slot="auto", limit=10)
    assert [s.id for s in page.items] == [second.id, first.id]


def test_upload_same_second_to_one_slot_keeps_both() -> None:
    saves = [upload(f"bytes-{i}".encode(), slot="auto") for i in range(3)]
    assert len({s.id for s in saves}) == 3
    assert len({s.file_name for s in saves}) <= 3  # names may collide within a second; records do not
    assert asset_reads.saves_summary(USER, ROM).slots[0].count == 3


def test_upload_dedup_returns_existing_and_stores_nothing() -> None:
    dev = device()
    first = upload(b"same", slot="auto", device_id=dev)
    before = object_keys()
    again = upload(b"same", slot="auto", device_id=dev, screenshot=b"png")
    assert again.id == first.id and again.screenshot is None
    assert object_keys() == before
    forced = upload(b"same", slot="auto", device_id=dev, overwrite=True)
    assert forced.id != first.id


# --- the conflict guard --------------------------------------------------------------------------


def test_guard_slot_rejects_a_device_without_the_latest() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    upload(b"from-laptop", slot="auto", device_id=laptop)
    with pytest.raises(Conflict, match="Slot has a newer save since your last sync"):
        upload(b"from-deck", slot="auto", device_id=deck)
    assert upload(b"from-deck", slot="auto", device_id=deck, overwrite=True).origin_device_id == deck
    assert upload(b"no-device", slot="auto").device_syncs == []


def test_guard_after_reset_syncs_the_devices_old_records_no_longer_count() -> None:
    # Given a laptop holding the slot's latest save, and a deck synced to it
    mac = "AA:BB:CC:DD:EE:01"
    laptop = register_device(USER.user_id, DeviceCreatePayload(name="Laptop", mac_address=mac))[1].device_id
    deck = device("Deck")
    save = upload(b"one", slot="auto", device_id=laptop)
    device_syncs.confirm_download(USER, save.id, deck)
    save_key = {"pk": keys.asset_pk("save", save.id), "sk": keys.PROFILE}
    before = table().get_item(Key=save_key)["Item"]["syncs"]

    # When the laptop registers again asking to reset its syncs
    register_device(USER.user_id, DeviceCreatePayload(mac_address=mac, reset_syncs=True))

    # Then the laptop counts as never synced (the slot guard refuses it, its entry is a placeholder), the
    # deck is unaffected, and no save was written to get there
    with pytest.raises(Conflict, match="Slot has a newer save since your last sync"):
        upload(b"two", slot="auto", device_id=laptop)
    entries = asset_reads.get_asset("save", USER, save.id, device_id=deck).device_syncs
    assert [(e.device_id, e.is_current) for e in entries] == [(deck, True)]
    mine = asset_reads.get_asset("save", USER, save.id, device_id=laptop).device_syncs
    assert [(e.device_id, e.is_current) for e in mine] == [(laptop, False), (deck, True)]
    assert table().get_item(Key=save_key)["Item"]["syncs"] == before
    assert upload(b"three", slot="auto", device_id=deck).content_hash == hashlib.md5(b"three").hexdigest()


def test_guard_runs_before_dedup() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    upload(b"same", slot="auto", device_id=laptop)
    with pytest.raises(Conflict):
        upload(b"same", slot="auto", device_id=deck)


def test_guard_same_name_rejects_an_outdated_sync_record() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    first = upload(b"one", device_id=deck)
    upload(b"two", device_id=laptop)  # the deck's record is now older than the save
    with pytest.raises(Conflict, match="Save has been updated since your last sync"):
        upload(b"three", device_id=deck)
    assert asset_downloads.download_asset("save", USER, first.id).data == b"two"
    assert upload(b"three", device_id=deck, overwrite=True).content_hash == hashlib.md5(b"three").hexdigest()


def test_guard_race_loser_gets_409_and_its_bytes_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two devices synced to the same latest save
    laptop, deck = device("Laptop"), device("Deck")
    base = upload(b"base", slot="auto", device_id=laptop)
    device_syncs.confirm_download(USER, base.id, deck)
    original = AssetsRepository.create_in_slot
    raced: list[Any] = []

    def deck_commits_first(self, record, seen_revision, *ledger):
        if not raced:
            raced.append(None)
            raced[0] = upload(b"from-deck", slot="auto", device_id=deck)
        return original(self, record, seen_revision, *ledger)

    monkeypatch.setattr(AssetsRepository, "create_in_slot", deck_commits_first)
    # When the laptop's commit runs after its check passed, but the deck committed in between
    with pytest.raises(Conflict, match="Slot has a newer save"):
        upload(b"from-laptop", slot="auto", device_id=laptop)
    # Then the slot holds the base and the deck's save, and no stray bytes
    monkeypatch.undo()
    ids = [s.id for s in asset_reads.list_assets("save", USER, slot="auto", limit=10).items]
    assert ids == [raced[0].id, base.id]
    assert len(object_keys()) == 2


def test_check_upload_allowed_raises_before_bytes_move() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    upload(b"one", slot="auto", device_id=laptop)
    with pytest.raises(Conflict):
        asset_uploads.check_upload_allowed(
            "save", USER, UploadParams(rom_id=ROM, slot="auto", device_id=deck), "x.sav"
        )
    assert (
        asset_uploads.check_upload_allowed("save", USER, UploadParams(rom_id=ROM, slot="auto"), "d/x.sav")
        == "x.sav"
    )
    with pytest.raises(BadRequest):
        asset_uploads.check_upload_allowed("state", USER, UploadParams(rom_id=ROM), "..")


def test_commit_upload_deletes_stored_bytes_on_conflict_and_dedup() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    upload(b"one", slot="auto", device_id=laptop)
    key = storage.new_object_key("save", USER.user_id, "x.sav")
    storage.put_object(key, b"direct")
    stored = StoredFile("x.sav", 6, hashlib.md5(b"direct").hexdigest(), key)
    with pytest.raises(Conflict):
        asset_uploads.commit_upload(
            "save", USER, UploadParams(rom_id=ROM, slot="auto", device_id=deck), stored
        )
    assert key not in object_keys()
    storage.put_object(key, b"direct")
    record = asset_uploads.commit_upload(
        "save", USER, UploadParams(rom_id=ROM, slot="auto", device_id=laptop), stored
    )
    assert record.object_key == key and record.file_name.startswith("x [")
    schema = asset_uploads.upload_schema("save", USER, UploadParams(rom_id=ROM, device_id=laptop), record)
    assert schema.device_syncs[0].is_current


def test_dangling_slot_member_is_ignored_and_dropped() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    upload(b"one", slot="auto", device_id=deck)
    newest = upload(b"two", slot="auto", device_id=laptop, overwrite=True)
    table().delete_item(
        Key={"pk": keys.asset_pk("save", newest.id), "sk": keys.PROFILE}
    )  # as if cut mid-delete
    assert (
        upload(b"three", slot="auto", device_id=deck).slot == "auto"
    )  # the deck holds the latest that exists
    assert len(items_with_prefix("SLOT#")) == 3  # head + two live members


# --- autocleanup ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "kept"), [(2, 2), (0, 1), (-5, 1)])
def test_autocleanup_keeps_the_newest_n(limit: int, kept: int) -> None:
    saves = [
        upload(f"v{i}".encode(), slot="auto", screenshot=b"png", autocleanup=True, autocleanup_limit=limit)
        for i in range(4)
    ]
    left = asset_reads.list_assets("save", USER, slot="auto", limit=10).items
    assert [s.id for s in left] == [s.id for s in reversed(saves)][:kept]
    assert len(object_keys()) == 2 * kept
    assert len(items_with_prefix("SLOT#")) == 1 + kept


def test_autocleanup_deletes_a_bounded_number_per_upload_and_the_next_upload_goes_on() -> None:
    # Given a slot 15 saves deep that never asked for autocleanup
    older = [upload(f"v{i}".encode(), slot="auto") for i in range(15)]

    # When one upload asks to keep 1, then another
    newest = upload(b"v15", slot="auto", autocleanup=True, autocleanup_limit=1)
    after_first = asset_reads.list_assets("save", USER, slot="auto", limit=100).items
    last = upload(b"v16", slot="auto", autocleanup=True, autocleanup_limit=1)

    # Then the first deleted only AUTOCLEANUP_DELETES_PER_UPLOAD of the 15, and the second the rest
    assert slot_retention.AUTOCLEANUP_DELETES_PER_UPLOAD == 10
    assert [s.id for s in after_first] == [newest.id, *[s.id for s in reversed(older)][10:]]
    assert [s.id for s in asset_reads.list_assets("save", USER, slot="auto", limit=100).items] == [last.id]
    assert len(object_keys()) == 1
    assert len(items_with_prefix("SLOT#")) == 2  # head + one member


def test_autocleanup_without_slot_does_nothing() -> None:
    upload(b"a", "a.sav", autocleanup=True, autocleanup_limit=1)
    upload(b"b", "b.sav", autocleanup=True, autocleanup_limit=1)
    assert len(asset_reads.list_assets("save", USER, limit=10).items) == 2


# --- device syncs, lists, summary ----------------------------------------------------------------


def test_device_syncs_list_the_callers_entry_first_with_names(monkeypatch: pytest.MonkeyPatch) -> None:
    laptop, deck = device("Laptop"), device("Deck")
    save = upload(b"one", device_id=laptop)
    device_syncs.confirm_download(USER, save.id, deck)
    view = asset_reads.get_asset("save", USER, save.id, device_id=deck)
    assert [(e.device_id, e.device_name, e.is_current) for e in view.device_syncs] == [
        (deck, "Deck", True),
        (laptop, "Laptop", True),
    ]
    assert asset_reads.get_asset("save", USER, save.id).device_syncs == []


def test_device_syncs_placeholder_for_a_device_without_record() -> None:
    save = upload(b"one")
    deck = device("Deck")
    entries = asset_reads.get_asset("save", USER, save.id, device_id=deck).device_syncs
    assert [(e.device_id, e.is_current, e.last_synced_at) for e in entries] == [
        (deck, False, save.updated_at)
    ]


def test_naming_a_device_needs_device_scope_and_ownership() -> None:
    save = upload(b"one")
    reader = make_principal(user_id=USER.user_id, scopes=frozenset({"assets.read", "assets.write"}))
    with pytest.raises(Forbidden):
        asset_reads.get_asset("save", reader, save.id, device_id=device())
    with pytest.raises(NotFound):
        asset_reads.get_asset("save", USER, save.id, device_id=device(user_id=OTHER.user_id))
    bound = make_principal(user_id=USER.user_id, device_id=device("Bound"))
    assert asset_reads.get_asset("save", bound, save.id).device_syncs[0].device_name == "Bound"


def test_list_device_labels_cost_one_batch_get_per_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsaves.repositories.devices import DevicesRepository

    laptop, deck, handheld = device("Laptop"), device("Deck"), device("Handheld")
    for name in ("a.sav", "b.sav", "c.sav"):
        save = upload(b"x" + name.encode(), name, device_id=laptop)
        device_syncs.confirm_download(USER, save.id, handheld)
    calls: list[set[str]] = []
    original = DevicesRepository.labels
    monkeypatch.setattr(
        DevicesRepository, "labels", lambda self, u, ids: calls.append(set(ids)) or original(self, u, ids)
    )
    page = asset_reads.list_assets("save", USER, device_id=deck, limit=10)
    assert len(calls) == 1 and calls[0] == {laptop, handheld}
    assert all(
        [e.device_name for e in s.device_syncs] == ["Deck", "Laptop", "Handheld"]
        or [e.device_name for e in s.device_syncs] == ["Deck", "Handheld", "Laptop"]
        for s in page.items
    )


def test_list_pages_follow_the_cursor_newest_first() -> None:
    ids = [upload(f"{i}".encode(), f"{i}.sav").id for i in range(5)]
    seen: list[int] = []
    cursor = None
    for expected in (2, 2, 1):
        page = asset_reads.list_assets("save", USER, limit=2, cursor=cursor)
        assert len(page.items) == expected
        seen += [s.id for s in page.items]
        cursor = page.next_cursor
    assert seen == list(reversed(ids)) and cursor is None
    assert asset_reads.list_identifiers("save", USER, limit=3).items == list(reversed(ids))[:3]


def test_list_filters_and_rejects_foreign_cursors() -> None:
    upload(b"a", "a.sav", slot="one")
    upload(b"b", "b.sav", slot="two")
    asset_uploads.upload_from_request(
        "save", USER, UploadParams(rom_id=OTHER_ROM), request({"saveFile": ("m.sav", b"m")})
    )
    assert [s.slot for s in asset_reads.list_assets("save", USER, slot="two", limit=10).items] == ["two"]
    assert {s.rom_id for s in asset_reads.list_assets("save", USER, platform_id=2, limit=10).items} == {
        OTHER_ROM
    }
    assert len(asset_reads.list_assets("save", USER, rom_id=ROM, limit=10).items) == 2
    assert asset_reads.list_assets("save", OTHER, limit=10).items == []
    cursor = asset_reads.list_assets("save", USER, limit=1).next_cursor
    with pytest.raises(BadRequest):
        asset_reads.list_assets("save", USER, rom_id=ROM, limit=1, cursor=cursor)
    with pytest.raises(BadRequest):
        asset_reads.list_assets("save", USER, limit=1, cursor="not-a-cursor")


def test_filtered_list_fills_the_page_across_queries() -> None:
    for i in range(6):
        upload(f"{i}".encode(), f"{i}.sav", slot="keep" if i % 3 == 0 else None)
    page = asset_reads.list_assets("save", USER, slot="keep", limit=2)
    assert [s.slot for s in page.items] == ["keep", "keep"]


def test_summary_groups_by_slot_newest_first() -> None:
    upload(b"1", "a.sav", slot="one")
    upload(b"2", "b.sav")
    latest = upload(b"3", "c.sav", slot="one")
    summary = asset_reads.saves_summary(USER, ROM)
    assert summary.total_count == 3
    assert [(s.slot, s.count) for s in summary.slots] == [("one", 2), (None, 1)]
    assert summary.slots[0].latest.id == latest.id
    assert asset_reads.saves_summary(USER, 424242).model_dump() == {"total_count": 0, "slots": []}


# --- visibility, download, update ----------------------------------------------------------------


def test_visibility_lets_others_download_but_not_read() -> None:
    save = upload(b"shared", screenshot=b"png")
    with pytest.raises(NotFound):
        asset_downloads.download_asset("save", OTHER, save.id)
    with pytest.raises(NotFound):
        asset_changes.set_visibility("save", OTHER, save.id, True)
    public = asset_changes.set_visibility("save", USER, save.id, True)
    assert public.is_public and public.screenshot.is_public and public.updated_at == save.updated_at
    assert asset_downloads.download_asset("save", OTHER, save.id).data == b"shared"
    with pytest.raises(NotFound):
        asset_reads.get_asset("save", OTHER, save.id)


def test_download_optimistic_marks_the_owners_device_synced_only() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    save = upload(b"one", device_id=laptop)
    asset_downloads.download_asset("save", USER, save.id, device_id=deck, optimistic=False)
    assert deck not in AssetsRepository(table(), "save").get(save.id).syncs
    opened = negotiate(USER, SyncNegotiatePayload(device_id=deck, saves=[])).session_id
    asset_downloads.download_asset("save", USER, save.id, device_id=deck, session_id=opened)
    assert AssetsRepository(table(), "save").get(save.id).syncs[deck].last_synced_at == save.updated_at
    assert get_session(USER, opened).operations_completed == 1


def test_download_large_file_redirects_to_presigned_url(monkeypatch: pytest.MonkeyPatch) -> None:
    save = upload(b"x" * 100, "big.sav")
    monkeypatch.setenv("MAX_INLINE_DOWNLOAD_BYTES", "10")
    get_settings.cache_clear()
    download = asset_downloads.download_asset("save", USER, save.id)
    assert download.data is None and "response-content-disposition" in download.redirect_url


def test_put_with_stale_device_is_409_and_overwrite_forces() -> None:
    laptop, deck = device("Laptop"), device("Deck")
    save = upload(b"one", device_id=deck)
    upload(b"two", device_id=laptop)
    put = request({"saveFile": ("ignored.sav", b"three")})
    with pytest.raises(Conflict, match="Save has been updated since your last sync"):
        asset_uploads.update_from_request("save", USER, save.id, put, device_id=deck)
    assert asset_downloads.download_asset("save", USER, save.id).data == b"two"
    assert len(object_keys()) == 1
    updated = asset_uploads.update_from_request("save", USER, save.id, put, device_id=deck, overwrite=True)
    assert updated.file_name == save.file_name and updated.content_hash == hashlib.md5(b"three").hexdigest()
    assert updated.device_syncs[0].device_id == deck and updated.device_syncs[0].is_current
    assert asset_downloads.download_asset("save", USER, save.id).data == b"three"


def test_put_screenshot_only_replaces_it_and_keeps_content_time() -> None:
    save = upload(b"one", screenshot=b"png-1")
    updated = asset_uploads.update_from_request(
        "save", USER, save.id, request({"screenshotFile": ("new.png", b"png-2")})
    )
    assert updated.screenshot.file_name == "new.png" and updated.updated_at == save.updated_at
    assert len(object_keys()) == 2
    with pytest.raises(NotFound):
        asset_uploads.update_from_request(
            "save", OTHER, save.id, request({"screenshotFile": ("x.png", b"p")})
        )


def test_put_on_a_slot_save_moves_it_to_the_slot_head() -> None:
    older = upload(b"one", slot="auto")
    upload(b"two", slot="auto")
    asset_uploads.update_from_request("save", USER, older.id, request({"saveFile": ("x.sav", b"three")}))
    assert asset_reads.list_assets("save", USER, slot="auto", limit=10).items[0].id == older.id
    deck = device()
    with pytest.raises(Conflict):
        upload(b"four", slot="auto", device_id=deck)


# --- sync bookkeeping ----------------------------------------------------------------------------


def test_track_and_untrack_follow_romm() -> None:
    deck = device()
    save = upload(b"one")
    assert (
        device_syncs.set_tracking(USER, save.id, deck, untracked=False).device_syncs[0].last_synced_at
        == save.updated_at
    )
    assert deck not in AssetsRepository(table(), "save").get(save.id).syncs  # track without record: nothing
    untracked = device_syncs.set_tracking(USER, save.id, deck, untracked=True)
    assert untracked.device_syncs[0].is_untracked
    assert not device_syncs.set_tracking(USER, save.id, deck, untracked=False).device_syncs[0].is_untracked
    assert device_syncs.confirm_download(USER, save.id, deck).device_syncs[0].is_current
    with pytest.raises(NotFound):
        device_syncs.confirm_download(OTHER, save.id, deck)


# --- delete --------------------------------------------------------------------------------------


def test_delete_with_a_foreign_id_deletes_nothing() -> None:
    mine = upload(b"mine", slot="auto")
    theirs = upload(b"theirs", principal=OTHER)
    with pytest.raises(NotFound, match=f"Save with ID {theirs.id} not found"):
        asset_changes.delete_assets("save", USER, [mine.id, theirs.id])
    assert asset_reads.get_asset("save", USER, mine.id).id == mine.id


def test_delete_removes_records_bytes_and_index_entries() -> None:
    slot_save = upload(b"one", slot="auto", screenshot=b"png")
    named = upload(b"two", "named.sav")
    assert asset_changes.delete_assets("save", USER, [slot_save.id, named.id, named.id]) == [
        slot_save.id,
        named.id,
        named.id,
    ]
    assert object_keys() == set()
    assert items_with_prefix("SAVE") == [] and [i["sk"] for i in items_with_prefix("SLOT#")] == ["HEAD"]
    assert upload(b"two", "named.sav").id != named.id


@pytest.mark.parametrize("ids", [[], list(range(1, 102))])
def test_delete_rejects_empty_and_oversized_lists(ids: list[int]) -> None:
    with pytest.raises(BadRequest):
        asset_changes.delete_assets("save", USER, ids)


def test_delete_states_and_state_visibility() -> None:
    state = upload(b"s", "s.state", kind="state", screenshot=b"png")
    assert asset_changes.set_visibility("state", USER, state.id, True).is_public
    assert asset_changes.delete_assets("state", USER, [state.id]) == [state.id]
    assert object_keys() == set()
    with pytest.raises(NotFound, match="State with ID"):
        asset_reads.get_asset("state", USER, state.id)
