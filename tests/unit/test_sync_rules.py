"""Negotiate's pairing rules (API.md section 10), pure: every RomM rule, the "Details" bullets, the
sync history by slot and the tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudsaves.services import sync_rules as rules
from cloudsaves.services.sync_rules import ClientFile, DeadSlot, DeviceSync, ServerFile

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def server(
    save_id: int = 1,
    *,
    minutes: int = 0,
    content_hash: str | None = "srv",
    slot: str | None = "autosave",
    rom_id: int = 7,
    synced: int | None = None,
    untracked: bool = False,
) -> ServerFile:
    sync = DeviceSync(t(synced), untracked) if synced is not None else None
    return ServerFile(
        id=save_id,
        rom_id=rom_id,
        file_name=f"save{save_id}.srm",
        updated_at=t(minutes),
        content_hash=content_hash,
        slot=slot,
        emulator="mgba",
        sync=sync,
    )


def client(
    *, minutes: int = 0, content_hash: str | None = "cli", slot: str | None = "autosave", rom_id: int = 7
) -> ClientFile:
    return ClientFile(
        rom_id=rom_id, file_name="pokemon.srm", updated_at=t(minutes), content_hash=content_hash, slot=slot
    )


def only(plan: rules.SavePlan) -> tuple[str, str]:
    assert len(plan.operations) == 1, plan.operations
    return plan.operations[0].action, plan.operations[0].reason


# --- RomM's compare_save_state ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_hash", "client_min", "server_hash", "server_min", "synced", "expected"),
    [
        ("h", 5, "h", 9, None, ("no_op", rules.SAME_CONTENT)),
        ("h", 5, "h", 9, 1, ("no_op", rules.SAME_CONTENT)),
        ("a", 5, "b", 6, 1, ("conflict", rules.BOTH_CHANGED)),
        ("a", 5, "b", 0, 1, ("upload", rules.CLIENT_NEWER_THAN_SYNC)),
        ("a", 0, "b", 5, 1, ("download", rules.SERVER_NEWER_THAN_SYNC)),
        ("a", 0, "b", 1, 1, ("no_op", rules.UNCHANGED_SINCE_SYNC)),  # equal to the sync is not "after"
        ("a", 5, "b", 1, None, ("upload", rules.CLIENT_NEWER)),
        ("a", 1, "b", 5, None, ("download", rules.SERVER_NEWER)),
        ("a", 3, "b", 3, None, ("conflict", rules.SAME_TIME_DIFFERENT_CONTENT)),
        # Details: hashes are equal only when both are present
        (None, 3, None, 3, None, ("no_op", rules.APPEAR_IDENTICAL)),
        ("a", 3, None, 3, None, ("conflict", rules.SAME_TIME_DIFFERENT_CONTENT)),
        (None, 3, "b", 3, None, ("conflict", rules.SAME_TIME_DIFFERENT_CONTENT)),
        (None, 5, None, 9, None, ("download", rules.SERVER_NEWER)),
    ],
)
def test_sync_rules_compare_matches_romm(
    client_hash: str | None,
    client_min: int,
    server_hash: str | None,
    server_min: int,
    synced: int | None,
    expected: tuple[str, str],
) -> None:
    result = rules.compare(
        client_hash=client_hash,
        client_updated_at=t(client_min),
        server_hash=server_hash,
        server_updated_at=t(server_min),
        last_synced_at=t(synced) if synced is not None else None,
    )

    assert result == expected


def test_sync_rules_compare_treats_naive_times_as_utc() -> None:
    naive = datetime(2026, 1, 1, 12, 5)

    result = rules.compare(
        client_hash="a", client_updated_at=naive, server_hash="b", server_updated_at=t(5), last_synced_at=None
    )

    assert result == ("conflict", rules.SAME_TIME_DIFFERENT_CONTENT)


# --- pairing ---------------------------------------------------------------------------------------


def test_sync_rules_pairs_with_the_newest_save_of_the_slot() -> None:
    rows = [server(1, minutes=1, content_hash="old"), server(2, minutes=9, content_hash="new")]

    plan = rules.plan_saves([client(minutes=5, content_hash="new")], rows)

    assert only(plan) == ("no_op", rules.SAME_CONTENT)
    assert plan.operations[0].server is not None and plan.operations[0].server.id == 2


def test_sync_rules_slotless_client_save_is_always_upload() -> None:
    rows = [server(1, slot=None, content_hash="same")]

    plan = rules.plan_saves([client(slot=None, content_hash="same")], rows)

    assert only(plan) == ("upload", rules.NOT_ON_SERVER)


def test_sync_rules_slotless_server_saves_are_never_downloaded() -> None:
    plan = rules.plan_saves([], [server(1, slot=None)])

    assert plan.operations == []


def test_sync_rules_client_save_without_server_slot_is_upload() -> None:
    plan = rules.plan_saves([client(slot="quick")], [server(1, slot="autosave", synced=0)])

    assert [op.action for op in plan.operations] == ["upload"]


def test_sync_rules_untracked_head_is_no_op_even_when_different() -> None:
    plan = rules.plan_saves([client(minutes=50)], [server(1, minutes=5, synced=1, untracked=True)])

    assert only(plan) == ("no_op", rules.UNTRACKED)


@pytest.mark.parametrize(
    ("client_min", "server_min", "expected"),
    [(5, 6, "conflict"), (5, 0, "upload"), (0, 5, "download"), (0, 0, "no_op")],
)
def test_sync_rules_with_sync_record_on_the_head(client_min: int, server_min: int, expected: str) -> None:
    plan = rules.plan_saves([client(minutes=client_min)], [server(1, minutes=server_min, synced=1)])

    assert only(plan)[0] == expected


def test_sync_rules_without_sync_record_newer_timestamp_wins() -> None:
    assert only(rules.plan_saves([client(minutes=9)], [server(1, minutes=5)]))[0] == "upload"
    assert only(rules.plan_saves([client(minutes=1)], [server(1, minutes=5)]))[0] == "download"


# --- server heads the client did not mention ------------------------------------------------------


def test_sync_rules_unmentioned_head_never_synced_is_download() -> None:
    plan = rules.plan_saves([], [server(1, minutes=5)])

    assert only(plan) == ("download", rules.NOT_ON_CLIENT)


def test_sync_rules_unmentioned_head_changed_since_sync_is_download() -> None:
    plan = rules.plan_saves([], [server(1, minutes=5, synced=1)])

    assert only(plan) == ("download", rules.UPDATED_NOT_ON_CLIENT)


def test_sync_rules_unmentioned_head_synced_and_unchanged_was_deleted_on_client() -> None:
    assert rules.plan_saves([], [server(1, minutes=5, synced=5)]).operations == []


def test_sync_rules_unmentioned_untracked_head_is_skipped() -> None:
    assert rules.plan_saves([], [server(1, minutes=5, synced=1, untracked=True)]).operations == []


def test_sync_rules_superseded_rows_are_history_not_downloads() -> None:
    rows = [server(1, minutes=1), server(2, minutes=2), server(3, minutes=3)]

    plan = rules.plan_saves([], rows)

    assert [(op.action, op.server.id if op.server else None) for op in plan.operations] == [("download", 3)]


# --- beyond RomM: sync history by slot ---------------------------------------------------------------


def test_sync_rules_history_device_changed_while_another_wrote_a_newer_head_is_conflict() -> None:
    # Device synced row 1 (hash "v1"); another device then uploaded row 2; this device edited its copy.
    rows = [server(1, minutes=0, content_hash="v1", synced=0), server(2, minutes=10, content_hash="v2")]

    plan = rules.plan_saves([client(minutes=5, content_hash="mine")], rows)

    assert only(plan) == ("conflict", rules.HISTORY_CONFLICT)


def test_sync_rules_history_unchanged_copy_behind_a_newer_head_downloads() -> None:
    rows = [server(1, minutes=0, content_hash="v1", synced=0), server(2, minutes=10, content_hash="v2")]

    plan = rules.plan_saves([client(minutes=0, content_hash="v1")], rows)

    assert only(plan) == ("download", rules.SERVER_NEWER_THAN_SYNC)


def test_sync_rules_history_missing_client_hash_is_a_difference() -> None:
    rows = [server(1, minutes=0, content_hash="v1", synced=0), server(2, minutes=10, content_hash="v2")]

    plan = rules.plan_saves([client(minutes=0, content_hash=None)], rows)

    assert only(plan)[0] == "conflict"


def test_sync_rules_history_uses_the_newest_sync_record_of_the_slot() -> None:
    # Synced row 1 at minute 0, then row 2 at minute 20: the last sync is row 2, the head.
    rows = [
        server(1, minutes=0, content_hash="v1", synced=0),
        server(2, minutes=10, content_hash="v2", synced=20),
    ]

    plan = rules.plan_saves([client(minutes=30, content_hash="mine")], rows)

    assert only(plan) == ("upload", rules.CLIENT_NEWER_THAN_SYNC)


def test_sync_rules_history_equal_head_hash_still_wins() -> None:
    rows = [server(1, minutes=0, content_hash="v1", synced=0), server(2, minutes=10, content_hash="v2")]

    plan = rules.plan_saves([client(minutes=5, content_hash="v2")], rows)

    assert only(plan) == ("no_op", rules.SAME_CONTENT)


def test_sync_rules_history_unmentioned_head_after_older_sync_downloads() -> None:
    rows = [server(1, minutes=0, synced=0), server(2, minutes=10)]

    plan = rules.plan_saves([], rows)

    assert only(plan) == ("download", rules.UPDATED_NOT_ON_CLIENT)


# --- beyond RomM: tombstones ----------------------------------------------------------------------


def dead(save_id: int = 1, content_hash: str | None = "gone", minutes: int = 30) -> DeadSlot:
    return DeadSlot(
        rom_id=7, slot="autosave", save_id=save_id, content_hash=content_hash, deleted_at=t(minutes)
    )


def test_sync_rules_tombstones_ignored_for_romm_clients() -> None:
    plan = rules.plan_saves([client(minutes=5, content_hash="gone")], [], tombstones=None)

    assert only(plan) == ("upload", rules.NOT_ON_SERVER)


def test_sync_rules_tombstone_plans_delete_for_the_deleted_content() -> None:
    plan = rules.plan_saves([client(minutes=5, content_hash="gone")], [], tombstones=[dead()])

    assert only(plan) == ("delete", rules.DELETED_ELSEWHERE)


def test_sync_rules_tombstone_with_copy_changed_after_the_delete_uploads() -> None:
    plan = rules.plan_saves([client(minutes=40, content_hash="new")], [], tombstones=[dead(minutes=30)])

    assert only(plan) == ("upload", rules.CHANGED_AFTER_DELETE)


def test_sync_rules_tombstone_with_other_older_copy_is_conflict() -> None:
    plan = rules.plan_saves([client(minutes=10, content_hash="other")], [], tombstones=[dead(minutes=30)])

    assert only(plan) == ("conflict", rules.DIFFERS_FROM_DELETED)


def test_sync_rules_tombstone_hides_the_kept_head_from_downloads() -> None:
    rows = [server(1, minutes=5, content_hash="gone")]

    assert rules.plan_saves([], rows, tombstones=[dead(save_id=1)]).operations == []


def test_sync_rules_tombstone_is_moot_once_a_newer_save_is_uploaded() -> None:
    rows = [server(1, minutes=5, content_hash="gone"), server(2, minutes=40, content_hash="new")]

    plan = rules.plan_saves([], rows, tombstones=[dead(save_id=1)])

    assert only(plan) == ("download", rules.NOT_ON_CLIENT)


def test_sync_rules_client_reported_delete_of_a_synced_head_makes_a_tombstone() -> None:
    rows = [server(1, minutes=5, synced=5)]

    plan = rules.plan_saves([], rows, tombstones=[], deleted=[(7, "autosave")])

    assert plan.operations == []
    assert [row.id for row in plan.new_tombstones] == [1]


def test_sync_rules_client_reported_delete_of_a_newer_head_downloads_instead() -> None:
    rows = [server(1, minutes=5, synced=1)]

    plan = rules.plan_saves([], rows, tombstones=[], deleted=[(7, "autosave")])

    assert plan.new_tombstones == []
    assert only(plan) == ("download", rules.UPDATED_NOT_ON_CLIENT)


def test_sync_rules_reported_deletes_need_the_tombstone_opt_in() -> None:
    plan = rules.plan_saves([], [server(1, minutes=5, synced=5)], tombstones=None, deleted=[(7, "autosave")])

    assert plan.new_tombstones == []


# --- states ----------------------------------------------------------------------------------------


def state(state_id: int, *, minutes: int, content_hash: str, emulator: str = "mgba") -> ServerFile:
    return ServerFile(
        id=state_id,
        rom_id=7,
        file_name="a.state",
        updated_at=t(minutes),
        content_hash=content_hash,
        emulator=emulator,
    )


def test_sync_rules_states_pair_on_rom_emulator_and_name() -> None:
    rows = [state(1, minutes=5, content_hash="s"), state(2, minutes=5, content_hash="x", emulator="snes9x")]
    mine = ClientFile(rom_id=7, file_name="a.state", updated_at=t(1), content_hash="s", emulator="mgba")

    operations = rules.plan_states([mine], rows)

    assert [(op.action, op.server.id if op.server else None) for op in operations] == [
        ("no_op", 1),
        ("download", 2),
    ]


def test_sync_rules_states_without_sync_records_use_timestamps() -> None:
    mine = ClientFile(rom_id=7, file_name="a.state", updated_at=t(9), content_hash="c", emulator="mgba")
    new = ClientFile(rom_id=7, file_name="b.state", updated_at=t(9), content_hash="c", emulator="mgba")

    operations = rules.plan_states([mine, new], [state(1, minutes=5, content_hash="s")])

    assert [(op.action, op.reason) for op in operations] == [
        ("upload", rules.CLIENT_NEWER),
        ("upload", rules.STATE_NOT_ON_SERVER),
    ]


def test_sync_rules_totals_count_each_action() -> None:
    plan = rules.plan_saves([client(slot=None), client(slot=None)], [server(1, minutes=3)])

    assert rules.totals(plan.operations) == {
        "upload": 2,
        "download": 1,
        "conflict": 0,
        "no_op": 0,
        "delete": 0,
    }
