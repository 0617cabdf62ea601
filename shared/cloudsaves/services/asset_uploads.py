"""Uploads of saves and states: one path whether the bytes arrive in a multipart body or straight in S3.

`check_upload_allowed` (validation and the conflict guard's pre-check, before any byte moves), the
bytes stored at a fresh key, then `commit_upload`, which decides again and writes in one conditional
transaction (`AssetsRepository.create_in_slot` / `create_named` / `update_content`), re-deciding when
the transaction loses a race. Bytes no record points at are deleted; bytes a record stopped pointing
at are deleted after the commit (the versioned bucket keeps them for the retention period). The
guard's rules are `upload_guard`'s; a slot's autocleanup after the commit is `slot_retention`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, overload

from aws_lambda_powertools.metrics import MetricUnit

from cloudsaves import storage
from cloudsaves.clock import iso, parse_iso, utcnow
from cloudsaves.errors import AppError, ConcurrentUpdate, Conflict
from cloudsaves.filenames import (
    apply_slot_tag,
    slot_tag_moment,
    split_name,
)
from cloudsaves.hashing import content_hash
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.assets import (
    AnyRecord,
    Kind,
    SaveRecord,
    SaveSchema,
    ScreenshotRecord,
    StateRecord,
    StateSchema,
    StoredFile,
    SyncRecord,
    UploadParams,
)
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.observability import logger, metrics
from cloudsaves.repositories.assets import AssetsRepository, ContentChange
from cloudsaves.repositories.object_ledger import LedgerNote
from cloudsaves.services import (
    asset_forms,
    asset_records,
    asset_views,
    cloud_sync_index,
    orphans,
    slot_retention,
    upload_guard,
)
from cloudsaves.services.devices import resolve_device, touch_last_seen
from cloudsaves.services.roms import get_rom

AUTOCLEANUP_MIN, AUTOCLEANUP_MAX = 1, 100
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Context:
    """An upload's validated options: the ROM, the named device and the storage path segment."""

    kind: Kind
    principal: Principal
    rom_id: int
    platform_id: int
    platform_fs_slug: str
    device: DeviceRecord | None
    emulator: str | None
    emulator_segment: str | None
    slot: str | None
    overwrite: bool
    autocleanup_limit: int | None  # None: no autocleanup
    session_id: int | None
    new_id: int | None = None  # the id a new record takes (a direct upload's, fixed at reservation)


@dataclass(frozen=True)
class _Outcome:
    """What a commit did: stored `record` (replacing `replaced` in place), or answered a duplicate."""

    record: AnyRecord
    deduplicated: bool = False
    replaced: AnyRecord | None = None
    retired: list[LedgerNote] = dataclasses.field(default_factory=list)  # noted keys `replaced` let go


def check_upload_allowed(kind: Kind, principal: Principal, params: UploadParams, file_name: str) -> str:
    """Validate an upload and run the conflict guard's pre-check, before any byte moves.

    Raises BadRequest (file name, emulator, slot), Forbidden/NotFound (device), NotFound (ROM) or
    Conflict (RomM's 409 detail) exactly as the upload itself would. Returns the sanitised file name
    (the name to put in `StoredFile.file_name`). `commit_upload` decides again atomically: a pass here
    is no promise.
    """
    context = _prepare(kind, principal, params)
    name = asset_forms.sanitized_name(kind, file_name)
    _precheck(context, name)
    return name


def commit_upload(
    kind: Kind,
    principal: Principal,
    params: UploadParams,
    stored: StoredFile,
    screenshot: StoredFile | None = None,
    record_id: int | None = None,
) -> AnyRecord:
    """Commit bytes already in S3 (at final keys from `storage.new_object_key`) as a save or state.

    Same rules as the multipart upload: slot tag, same-name update in place, dedup, the conflict guard
    re-checked in the same conditional write, device sync, autocleanup, session counting.
    Owns the stored objects from here on: when they end up unused (dedup answer, Conflict, any error)
    they are deleted. Returns the record (the existing one on a dedup answer); `upload_schema` renders it.
    A new record takes `record_id` when given.
    """
    context = dataclasses.replace(_prepare(kind, principal, params), new_id=record_id)
    return _commit(context, stored, screenshot).record


def upload_schema(
    kind: Kind, principal: Principal, params: UploadParams, record: AnyRecord
) -> SaveSchema | StateSchema:
    """The upload's answer for `record`: SaveSchema with device_syncs when the upload named a device."""
    device = resolve_device(principal, params.device_id, write=True) if kind == "save" else None
    return asset_views.schema(record, device)


@overload
def upload_from_request(
    kind: Literal["save"], principal: Principal, params: UploadParams, request: asset_forms.RequestBody
) -> SaveSchema: ...
@overload
def upload_from_request(
    kind: Literal["state"], principal: Principal, params: UploadParams, request: asset_forms.RequestBody
) -> StateSchema: ...
def upload_from_request(
    kind: Kind, principal: Principal, params: UploadParams, request: asset_forms.RequestBody
) -> SaveSchema | StateSchema:
    """`POST /api/saves` / `POST /api/states`: a multipart body with the file and an optional screenshot."""
    form = asset_forms.read_form(kind, request, required=True)
    context = _prepare(kind, principal, params)
    part = asset_forms.file_part(form, asset_forms.FILE_PART[kind], kind, required=True)
    assert part is not None and part.filename is not None
    name = asset_forms.sanitized_name(kind, part.filename)
    screenshot = asset_forms.screenshot_of(form)
    _precheck(context, name)
    stored, shot = _store(kind, principal.user_id, (name, part.data), screenshot)
    assert stored is not None
    outcome = _commit(context, stored, shot)
    return asset_views.schema(outcome.record, context.device)


@overload
def update_from_request(
    kind: Literal["save"],
    principal: Principal,
    asset_id: int,
    request: asset_forms.RequestBody,
    *,
    device_id: str | None = None,
    overwrite: bool = False,
) -> SaveSchema: ...
@overload
def update_from_request(
    kind: Literal["state"],
    principal: Principal,
    asset_id: int,
    request: asset_forms.RequestBody,
    *,
    device_id: str | None = None,
    overwrite: bool = False,
) -> StateSchema: ...
def update_from_request(
    kind: Kind,
    principal: Principal,
    asset_id: int,
    request: asset_forms.RequestBody,
    *,
    device_id: str | None = None,
    overwrite: bool = False,
) -> SaveSchema | StateSchema:
    """`PUT /api/saves/{id}` / `PUT /api/states/{id}`: replace the content and/or the screenshot.

    With a device named (saves), content that changed since that device's last sync is not
    overwritten (409) unless `overwrite`; the write is conditional on the version the check saw.
    """
    device = resolve_device(principal, device_id, write=True) if kind == "save" else None
    form = asset_forms.read_form(kind, request, required=False)
    part = asset_forms.file_part(form, asset_forms.FILE_PART[kind], kind, required=False)
    screenshot = asset_forms.screenshot_of(form)
    repo = asset_records.assets_repository(kind)
    current = asset_records.owned(kind, principal, asset_id)
    if part is None and screenshot is None:
        if device is None:
            return asset_views.schema(current, None)
        return asset_views.schema(asset_records.record_sync(repo, current, device), device)
    upload_guard.check_not_stale(current, device, overwrite, content=part is not None)
    stored, shot = _store(
        kind, principal.user_id, (current.file_name, part.data) if part else None, screenshot
    )
    written = [f.object_key for f in (stored, shot) if f is not None]
    try:
        record, retired = _update_in_place(repo, kind, principal, asset_id, stored, shot, device, overwrite)
    except AppError:
        orphans.discard((stored, shot))  # decided: nothing was written
        raise
    except BaseException:
        # Their pending notes stay: the sweep deletes them unless the commit landed (it settles them).
        logger.warning("Update outcome unknown; keeping the uploaded objects", extra={"keys": written})
        raise
    _after_write(principal, record, retired, device)
    return asset_views.schema(record, device)


# --- upload internals ---------------------------------------------------------------------------------


def _prepare(kind: Kind, principal: Principal, params: UploadParams) -> _Context:
    device = resolve_device(principal, params.device_id, write=True) if kind == "save" else None
    rom = get_rom(params.rom_id)
    emulator = params.emulator or None
    slot = (params.slot or None) if kind == "save" else None
    segment = asset_forms.name_segment("emulator", emulator)
    asset_forms.name_segment("slot", slot)
    cleanup = kind == "save" and slot is not None and params.autocleanup
    return _Context(
        kind=kind,
        principal=principal,
        rom_id=rom.id,
        platform_id=rom.platform_id,
        platform_fs_slug=rom.platform_fs_slug,
        device=device,
        emulator=emulator,
        emulator_segment=segment,
        slot=slot,
        overwrite=params.overwrite,
        autocleanup_limit=max(AUTOCLEANUP_MIN, min(AUTOCLEANUP_MAX, params.autocleanup_limit))
        if cleanup
        else None,
        session_id=params.session_id if kind == "save" else None,
    )


def _precheck(context: _Context, file_name: str) -> None:
    if context.kind != "save" or context.device is None or context.overwrite:
        return
    repo = asset_records.assets_repository("save")
    if context.slot is not None:
        latest = repo.newest_in_slot(context.principal.user_id, context.rom_id, context.slot)
        if latest is not None:
            upload_guard.check_slot_sync(latest, context.device)
    else:
        existing, _ = _same_name(repo, context, file_name)
        if existing is not None:
            upload_guard.check_not_stale(existing, context.device, overwrite=False, content=True)


def _commit(context: _Context, stored: StoredFile, screenshot: StoredFile | None) -> _Outcome:
    written = [f.object_key for f in (stored, screenshot) if f is not None]
    try:
        outcome = _commit_with_retries(context, stored, screenshot)
    except AppError as exc:
        orphans.discard((stored, screenshot))  # decided: nothing was written, the bytes are nobody's
        if isinstance(exc, Conflict):
            metrics.add_metric(name="SyncConflicts", unit=MetricUnit.Count, value=1)
        raise
    except BaseException:
        # The write may have landed (a timeout after DynamoDB applied it): deleting referenced bytes
        # would lose a save. Their pending notes decide: the commit settles them, else the sweep deletes.
        logger.warning("Commit outcome unknown; keeping the uploaded objects", extra={"keys": written})
        raise
    if outcome.deduplicated:
        orphans.discard((stored, screenshot))
        metrics.add_metric(name="DeduplicatedUploads", unit=MetricUnit.Count, value=1)
        return outcome
    metrics.add_metric(name=f"{context.kind.capitalize()}Uploads", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="UploadedBytes", unit=MetricUnit.Bytes, value=stored.file_size_bytes)
    principal, limit, slot = context.principal, context.autocleanup_limit, context.slot
    _after_write(principal, outcome.record, outcome.retired, context.device)
    _after_commit(
        "count the sync session",
        lambda: asset_records.count_session(context.kind, principal, context.session_id),
    )
    if limit is not None and slot is not None:
        _after_commit(
            "autocleanup", lambda: slot_retention.autocleanup(principal.user_id, context.rom_id, slot, limit)
        )
    return outcome


def _after_write(
    principal: Principal, record: AnyRecord, retired: list[LedgerNote], device: DeviceRecord | None
) -> None:
    """What follows any stored upload or PUT: the bytes it replaced go, the RetroArch door's index
    learns the record, the device was seen."""
    _after_commit("release replaced bytes", lambda: orphans.release(retired))
    cloud_sync_index.note_commit(record)
    if device is not None:
        _after_commit("touch last_seen", lambda: touch_last_seen(principal.user_id, device.id))


def _after_commit(step: str, run: Callable[[], None]) -> None:
    """Work after a commit is best effort: the upload is stored, so a failure here (DynamoDB busy, S3
    down) is logged, never answered as an error a client would retry; bytes it leaves behind are the
    orphan sweep's (their notes stay)."""
    try:
        run()
    except Exception:
        logger.warning("Could not finish after the commit", extra={"step": step}, exc_info=True)


def _commit_with_retries(context: _Context, stored: StoredFile, screenshot: StoredFile | None) -> _Outcome:
    repo = asset_records.assets_repository(context.kind)
    for _ in range(asset_records.MAX_COMMIT_ATTEMPTS):
        try:
            if context.slot is not None:
                return _commit_to_slot(repo, context, stored, screenshot)
            return _commit_by_name(repo, context, stored, screenshot)
        except ConcurrentUpdate:
            asset_records.backoff()  # another write to this slot or name won: read again and decide again
    raise Conflict("Too many concurrent uploads to the same slot or file name; try again")


def _commit_to_slot(
    repo: AssetsRepository, context: _Context, stored: StoredFile, screenshot: StoredFile | None
) -> _Outcome:
    assert context.slot is not None
    # The revision is read before the members: any member added after this read also moves the revision.
    revision = repo.slots.revision(context.principal.user_id, context.rom_id, context.slot)
    latest = repo.newest_in_slot(context.principal.user_id, context.rom_id, context.slot)
    if latest is not None and context.device is not None and not context.overwrite:
        upload_guard.check_slot_sync(latest, context.device)
    if not context.overwrite:
        duplicate = repo.in_slot_with_hash(
            context.principal.user_id, context.rom_id, context.slot, stored.content_hash
        )
        if duplicate is not None:
            return _Outcome(duplicate, deduplicated=True)
    moment = _after(latest.updated_at if latest else None)
    record = _new_record(context, stored, screenshot, moment, apply_slot_tag(stored.file_name, moment))
    assert isinstance(record, SaveRecord)
    repo.create_in_slot(record, revision, orphans.commit_actions((stored, screenshot)))
    return _Outcome(record)


def _commit_by_name(
    repo: AssetsRepository, context: _Context, stored: StoredFile, screenshot: StoredFile | None
) -> _Outcome:
    existing, dangling_id = _same_name(repo, context, stored.file_name)
    if existing is None:
        record = _new_record(context, stored, screenshot, _after(None), stored.file_name)
        repo.create_named(record, dangling_id, orphans.commit_actions((stored, screenshot)))
        return _Outcome(record)
    if context.device is not None and not context.overwrite:
        upload_guard.check_not_stale(existing, context.device, overwrite=False, content=True)
    moment = _after(existing.updated_at)
    changes = {
        **_content_fields(stored, moment),
        "emulator": context.emulator,
        "file_path": _folder(context),
    }
    if screenshot is not None:
        changes["screenshot"] = _screenshot_record(screenshot, moment)
    record, sync_device = _with_changes(existing, changes, context.device, moment)
    retired = orphans.replaced_notes(context.kind, existing, record)
    change = ContentChange(record, existing.version, existing.updated_at, sync_device)
    repo.update_content(change, orphans.commit_actions((stored, screenshot), retired))
    return _Outcome(record, replaced=existing, retired=retired)


def _update_in_place(
    repo: AssetsRepository,
    kind: Kind,
    principal: Principal,
    asset_id: int,
    stored: StoredFile | None,
    screenshot: StoredFile | None,
    device: DeviceRecord | None,
    overwrite: bool,
) -> tuple[AnyRecord, list[LedgerNote]]:
    """The rewritten record, and the notes of the keys it let go (filed in its transaction)."""
    for _ in range(asset_records.MAX_COMMIT_ATTEMPTS):
        current = asset_records.owned(kind, principal, asset_id)
        upload_guard.check_not_stale(current, device, overwrite, content=stored is not None)
        moment = _after(current.updated_at) if stored is not None else parse_iso(current.updated_at)
        changes: dict[str, object] = _content_fields(stored, moment) if stored is not None else {}
        if screenshot is not None:
            changes["screenshot"] = _screenshot_record(screenshot, utcnow())
        record, sync_device = _with_changes(current, changes, device, moment)
        retired = orphans.replaced_notes(kind, current, record)
        try:
            change = ContentChange(record, current.version, current.updated_at, sync_device)
            repo.update_content(change, orphans.commit_actions((stored, screenshot), retired))
            return record, retired
        except ConcurrentUpdate:
            asset_records.backoff()
    raise Conflict(f"The {kind} kept changing while being updated; try again")


def _with_changes(
    current: AnyRecord, changes: dict[str, object], device: DeviceRecord | None, moment: datetime
) -> tuple[AnyRecord, str | None]:
    """The record after an in-place write; a named device's sync record becomes current with it."""
    update = {**changes, "version": current.version + 1}
    if isinstance(current, SaveRecord) and device is not None:
        update["syncs"] = {
            **current.syncs,
            device.id: SyncRecord(last_synced_at=iso(moment), is_untracked=False),
        }
        return current.model_copy(update=update), device.id
    return current.model_copy(update=update), None


def _content_fields(stored: StoredFile, moment: datetime) -> dict[str, object]:
    return {
        "file_size_bytes": stored.file_size_bytes,
        "content_hash": stored.content_hash,
        "object_key": stored.object_key,
        "updated_at": iso(moment),
    }


def _new_record(
    context: _Context, stored: StoredFile, screenshot: StoredFile | None, moment: datetime, file_name: str
) -> AnyRecord:
    parts = split_name(file_name)
    fields = {
        "id": context.new_id or new_int_id(),
        "user_id": context.principal.user_id,
        "rom_id": context.rom_id,
        "platform_id": context.platform_id,
        "platform_fs_slug": context.platform_fs_slug,
        "file_name": file_name,
        "file_name_no_tags": parts.no_tags,
        "file_name_no_ext": parts.no_ext,
        "file_extension": parts.extension,
        "file_path": _folder(context),
        "file_size_bytes": stored.file_size_bytes,
        "emulator": context.emulator,
        "content_hash": stored.content_hash,
        "is_public": False,
        "created_at": iso(moment),
        "updated_at": iso(moment),
        "object_key": stored.object_key,
        "screenshot": _screenshot_record(screenshot, moment) if screenshot else None,
    }
    if context.kind == "state":
        return StateRecord.model_validate(fields)
    device = context.device
    return SaveRecord.model_validate(
        {
            **fields,
            "slot": context.slot,
            "origin_device_id": device.id if device else None,
            "syncs": {device.id: {"last_synced_at": iso(moment), "is_untracked": False}} if device else {},
        }
    )


def _screenshot_record(stored: StoredFile, moment: datetime) -> ScreenshotRecord:
    return ScreenshotRecord(
        id=new_int_id(),
        file_name=stored.file_name,
        file_size_bytes=stored.file_size_bytes,
        object_key=stored.object_key,
        created_at=iso(moment),
        updated_at=iso(moment),
    )


def _same_name(
    repo: AssetsRepository, context: _Context, file_name: str
) -> tuple[AnyRecord | None, int | None]:
    """The asset a slot-less upload of `file_name` refreshes in place, as RomM (and a dangling claim's id).

    The asset claiming the name; else, as RomM's "colliding save", a slot save stored under exactly
    that name (its slot tag) in the same ROM and emulator folder: a client re-uploading a slot save it
    downloaded, without the slot, refreshes that row rather than adding a second one.
    """
    existing, dangling_id = repo.named(context.principal.user_id, context.rom_id, file_name)
    tagged_at = slot_tag_moment(file_name) if context.kind == "save" else None
    if existing is None and tagged_at is not None:
        user_id, rom_id = context.principal.user_id, context.rom_id
        for found in repo.stored_as(user_id, rom_id, file_name, _folder(context), iso(tagged_at)):
            existing = repo.get(found.id, consistent=True)  # the index may lag: decide on the item
            if existing is not None and existing.file_name == file_name:
                break
            existing = None
    return existing, dangling_id


def _store(
    kind: Kind, user_id: int, file: tuple[str, bytes] | None, screenshot: tuple[str, bytes] | None
) -> tuple[StoredFile | None, StoredFile | None]:
    """Put the (name, bytes) of the file and of the screenshot at fresh keys: both or neither."""
    stored_file = stored_shot = None
    try:
        if file is not None:
            stored_file = orphans.put_new(kind, user_id, *file, content_hash(file[1]))
        if screenshot is not None:
            stored_shot = orphans.put_new("screenshot", user_id, *screenshot, content_hash(screenshot[1]))
    except BaseException:
        orphans.discard((stored_file, stored_shot))
        raise
    return stored_file, stored_shot


def _folder(context: _Context) -> str:
    return storage.asset_folder(
        context.kind,
        context.principal.user_id,
        context.platform_fs_slug,
        context.rom_id,
        context.emulator_segment,
    )


def _after(previous: str | None) -> datetime:
    """Now, but strictly after `previous`: a newer version never sorts before the one it follows."""
    moment = utcnow()
    if previous is not None:
        moment = max(moment, parse_iso(previous) + _ONE_MICROSECOND)
    return moment
