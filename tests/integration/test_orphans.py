"""The orphan-check ledger and its sweep: bytes any record names stay, whatever the notes say; bytes no
record names (a function that died, a delete that failed) are deleted an hour on."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from cloudsaves import storage
from cloudsaves.aws import s3_client, table
from cloudsaves.clock import iso, utcnow
from cloudsaves.repositories import keys
from cloudsaves.repositories.assets import AssetsRepository
from cloudsaves.repositories.object_ledger import ObjectLedger
from cloudsaves.services import orphans
from tests.assets_support import multipart
from tests.conftest import TEST_BUCKET, api_event, load_event, load_function, make_principal, response_json
from tests.integration.test_cloud_sync import EMERALD, PASSWORD, call

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
_functions: dict[str, ModuleType] = {}


@pytest.fixture
def door(aws: None) -> ModuleType:
    return load_function("cloud_sync")


@pytest.fixture
def alice(aws: None) -> Any:
    from cloudsaves.auth.scopes import Role
    from cloudsaves.models.roms import RomUpsert
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.roms import upsert_rom
    from cloudsaves.services.users import create_user

    user = create_user(UserCreate(username="alice", password=PASSWORD, role=Role.VIEWER))
    upsert_rom(1, RomUpsert(name="Emerald", fs_name="Pokemon Emerald.gba", platform_id=7,
                            platform_slug="gba", platform_fs_slug="gba"))  # fmt: skip
    return user


def invoke(name: str, method: str, path: str, route: str, user: Any, context: Any, **kwargs: Any) -> Any:
    if name not in _functions:
        _functions[name] = load_function(name)
    principal = make_principal(user_id=user.id, username=user.username)
    answer = _functions[name].lambda_handler(
        api_event(method, path, route=route, principal=principal, **kwargs), context
    )
    assert answer["statusCode"] in (200, 201, 204), answer
    return response_json(answer)


def upload(
    user: Any, context: Any, kind: str, data: bytes, name: str, shot: bytes | None = None, **query: str
):
    files = {f"{kind}File": (name, data)}
    if shot is not None:
        files["screenshotFile"] = ("shot.png", shot)
    body, content_type = multipart(files)
    return invoke(
        f"upload_{kind}",
        "POST",
        f"/api/{kind}s",
        f"/api/{kind}s",
        user,
        context,
        query={"rom_id": "1", **query},
        body=body,
        headers={"content-type": content_type},
    )


def gallery_upload(user: Any, context: Any, data: bytes, name: str) -> Any:
    body, content_type = multipart({"screenshotFile": (name, data)})
    return invoke(
        "upload_screenshot",
        "POST",
        "/api/screenshots",
        "/api/screenshots",
        user,
        context,
        query={"rom_id": "1"},
        body=body,
        headers={"content-type": content_type},
    )


def referenced_keys() -> set[str]:
    """Every object key a record names (the test reads the whole table; the service never scans)."""
    found: set[str] = set()
    for item in table().scan()["Items"]:
        if str(item["pk"]).startswith("ORPHANCHECK#"):
            continue
        if isinstance(item.get("object_key"), str):
            found.add(item["object_key"])
        shot = item.get("screenshot")
        if isinstance(shot, dict) and isinstance(shot.get("object_key"), str):
            found.add(shot["object_key"])
    return found


def current_objects() -> set[str]:
    listing = s3_client().list_objects_v2(Bucket=TEST_BUCKET)
    return {entry["Key"] for entry in listing.get("Contents", [])}


def versions_of(key: str) -> int:
    listing = s3_client().list_object_versions(Bucket=TEST_BUCKET, Prefix=key)
    return len([v for v in listing.get("Versions", []) if v["Key"] == key])


def test_sweep_keeps_every_referenced_object_and_deletes_only_orphans(
    door: ModuleType, alice: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given requests whose every clean-up step fails (no note is ever dropped, no object deleted), so
    # every note they file is left to the sweep to judge
    monkeypatch.setattr(ObjectLedger, "forget", lambda self, notes: None)
    monkeypatch.setattr(storage, "delete_objects", lambda keys: set())
    orphans.object_ledger().set_cursor(keys.orphan_check_hour(iso(utcnow())))
    # a slot's history (three versions), a save with a screenshot rewritten in place, a state replaced
    for data in (b"v1", b"v2", b"v3"):
        upload(alice, lambda_context, "save", data, "emerald.srm", slot="quick")
    upload(alice, lambda_context, "save", b"old", "named.srm", PNG)
    named = upload(alice, lambda_context, "save", b"new", "named.srm", PNG + b"2")
    # (a delete that filed its notes and then failed: the record still names both keys)
    orphans.note_removals("save", [AssetsRepository(table(), "save").get(named["id"])])
    state = upload(alice, lambda_context, "state", b"state 1", "emerald.state", PNG)
    body, content_type = multipart({"stateFile": ("emerald.state", b"state 2")})
    invoke(
        "update_state",
        "PUT",
        f"/api/states/{state['id']}",
        "/api/states/{id}",
        alice,
        lambda_context,
        path_params={"id": str(state["id"])},
        body=body,
        headers={"content-type": content_type},
    )
    gone = upload(alice, lambda_context, "save", b"doomed", "doomed.srm", PNG)
    invoke("delete_saves", "POST", "/api/saves/delete", "/api/saves/delete", alice, lambda_context,
           body={"saves": [gone["id"]]})  # fmt: skip
    # gallery screenshots: one kept, one replaced by the same name, one deleted
    gallery_upload(alice, lambda_context, PNG, "kept.png")
    gallery_upload(alice, lambda_context, PNG, "again.png")
    gallery_upload(alice, lambda_context, PNG + b"2", "again.png")
    dropped = gallery_upload(alice, lambda_context, PNG, "dropped.png")
    invoke("delete_screenshot", "DELETE", f"/api/screenshots/{dropped['id']}", "/api/screenshots/{id}",
           alice, lambda_context, path_params={"id": str(dropped["id"])})  # fmt: skip
    # the RetroArch door: a mapped save moved to deleted/, plain files replaced and deleted
    assert call(door, lambda_context, "PUT", EMERALD, b"retroarch save")[0] in (201, 204)
    destination = "http://door.example/api/cloud-sync/deleted/saves/mGBA/Pokemon%20Emerald.srm-261203-071421"
    assert call(door, lambda_context, "MOVE", EMERALD, headers={"destination": destination})[0] == 201
    for data in (b"cfg 1", b"cfg 2"):
        assert call(door, lambda_context, "PUT", "config/retroarch.cfg", data)[0] in (201, 204)
    assert call(door, lambda_context, "PUT", "config/gone.cfg", b"bye")[0] == 201
    assert call(door, lambda_context, "DELETE", "config/gone.cfg")[0] == 204
    # and bytes whose function died before its commit
    dead = storage.new_object_key("save", alice.id, "dead.srm")
    orphans.note_pending(dead)
    storage.put_object(dead, b"never committed")

    referenced = referenced_keys()
    before = current_objects()
    expected_orphans = before - referenced
    assert dead in expected_orphans and len(expected_orphans) == 9  # 8 let go by records, 1 never taken
    assert referenced <= before

    # When the sweep runs more than an hour later
    monkeypatch.undo()
    report = orphans.sweep(utcnow() + timedelta(hours=3))

    # Then every referenced object stays and every orphan is gone
    after = current_objects()
    assert referenced_keys() == referenced
    assert referenced <= after
    assert after == referenced
    assert report.orphans_found == report.orphans_deleted == len(expected_orphans)
    assert report.checked == report.orphans_found + 2  # the failed delete's notes: checked, kept
    # bytes a record let go stay recoverable for the retention period; bytes never taken do not
    assert all(versions_of(key) == 1 for key in expected_orphans - {dead})
    assert versions_of(dead) == 0
    # and a second sweep has nothing left to do
    assert orphans.sweep(utcnow() + timedelta(hours=3)).checked == 0


def test_sweep_leaves_young_notes_and_resumes_from_its_cursor(alice: Any) -> None:
    # Given bytes of a request that died just now, and the sweep's cursor at this hour
    now = utcnow()
    ledger = orphans.object_ledger()
    ledger.set_cursor(keys.orphan_check_hour(iso(now)))
    dead = storage.new_object_key("save", alice.id, "dead.srm")
    orphans.note_pending(dead)
    storage.put_object(dead, b"never committed")

    # When the sweep runs within the hour, the bytes stay (the request might still be running)
    assert orphans.sweep(now + timedelta(minutes=30)).checked == 0
    assert dead in current_objects()

    # Then once the hour has passed, they go and the cursor moves past that hour
    report = orphans.sweep(now + timedelta(hours=2, minutes=1))
    assert (report.checked, report.orphans_deleted) == (1, 1)
    assert dead not in current_objects()
    assert ledger.cursor() == report.cursor > keys.orphan_check_hour(iso(now))


class _RefusingDeletes:
    """An S3 client whose DeleteObjects deletes nothing and names every key in `Errors`, as S3 does
    for keys it refuses (the call itself succeeds)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        return {"Errors": [{"Key": o["Key"], "Code": "AccessDenied"} for o in Delete["Objects"]]}


@pytest.mark.parametrize("failure", ["S3 down", "S3 refuses the versions"])
def test_sweep_files_a_note_again_when_the_delete_fails(
    alice: Any, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    now = utcnow()
    orphans.object_ledger().set_cursor(keys.orphan_check_hour(iso(now)))
    dead = storage.new_object_key("save", alice.id, "dead.srm")
    orphans.note_pending(dead)
    storage.put_object(dead, b"never committed")

    def s3_down(key: str) -> None:
        raise RuntimeError("S3 is down")

    if failure == "S3 down":
        monkeypatch.setattr(storage, "purge_object", s3_down)
    else:
        real_client = storage.s3_client
        monkeypatch.setattr(storage, "s3_client", lambda: _RefusingDeletes(real_client()))
    report = orphans.sweep(now + timedelta(hours=2))
    assert (report.orphans_found, report.orphans_deleted, report.failures) == (1, 0, 1)
    monkeypatch.undo()
    # the note was filed again at the sweep's time: a later sweep deletes the bytes
    assert orphans.sweep(now + timedelta(hours=5)).orphans_deleted == 1
    assert dead not in current_objects()


def test_reconcile_function_emits_its_counts_as_metrics(alice: Any, lambda_context: Any, capsys) -> None:
    orphans.object_ledger().set_cursor(keys.orphan_check_hour(iso(utcnow() - timedelta(hours=3))))
    dead = storage.new_object_key("save", alice.id, "dead.srm")
    orphans.object_ledger().note([orphans.pending_note(dead, iso(utcnow() - timedelta(hours=3)))])
    storage.put_object(dead, b"never committed")

    scheduled = load_event("reconcile_objects/scheduled.json")
    result = load_function("reconcile_objects").lambda_handler(scheduled, lambda_context)

    assert (result["orphans_found"], result["orphans_deleted"]) == (1, 1)
    assert '"OrphanedObjectsDeleted":[1.0]' in capsys.readouterr().out.replace(" ", "")
