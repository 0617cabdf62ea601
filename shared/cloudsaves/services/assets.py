"""Saves and states: the use cases behind /api/saves and /api/states, parametrised by kind.

Uploads take one path whether the bytes arrive in a multipart body or straight in S3 (section 7):
`check_upload_allowed` (validation and the conflict guard's pre-check, before any byte moves), the
bytes stored at a fresh key, then `commit_upload`, which decides again and writes in one conditional
transaction (`AssetsRepository.create_in_slot` / `create_named` / `update_content`), re-deciding when
the transaction loses a race. Bytes no record points at are deleted; bytes a record stopped pointing
at are deleted after the commit (the versioned bucket keeps them for the retention period).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, Literal, TypeVar, overload

from aws_lambda_powertools.metrics import MetricUnit

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.clock import iso, now_iso, parse_iso, utcnow
from cloudsaves.errors import AppError, BadRequest, ConcurrentUpdate, Conflict, NotFound
from cloudsaves.filenames import (
    apply_slot_tag,
    split_name,
)
from cloudsaves.hashing import content_hash
from cloudsaves.http import NEXT_CURSOR_HEADER, Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.assets import (
    MAX_DELETE_IDS,
    AnyRecord,
    Kind,
    SaveRecord,
    SaveSchema,
    SaveSummarySchema,
    ScreenshotRecord,
    SlotSummarySchema,
    StateRecord,
    StateSchema,
    StoredFile,
    SyncRecord,
    UploadParams,
)
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.observability import logger, metrics
from cloudsaves.repositories.assets import AssetsRepository, ContentChange
from cloudsaves.services import asset_forms, asset_views
from cloudsaves.services.devices import resolve_device, touch_last_seen
from cloudsaves.services.roms import get_rom
from cloudsaves.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

SLOT_CONFLICT = "Slot has a newer save since your last sync"
SAVE_CONFLICT = "Save has been updated since your last sync"
AUTOCLEANUP_MIN, AUTOCLEANUP_MAX = 1, 100
# Each attempt re-reads and decides again; only a storm of writers to one slot or name exhausts them.
MAX_COMMIT_ATTEMPTS = 8

_ONE_MICROSECOND = timedelta(microseconds=1)


Item = TypeVar("Item", SaveSchema, StateSchema, int)


@dataclass(frozen=True)
class AssetPage(Generic[Item]):
    """One page of a list: the items (a plain JSON array for RomM clients) and the next page's cursor."""

    items: list[Item]
    next_cursor: str | None = None

    @property
    def headers(self) -> dict[str, str] | None:
        return {NEXT_CURSOR_HEADER: self.next_cursor} if self.next_cursor else None


@dataclass(frozen=True)
class Download:
    """The asset's bytes when they fit a Lambda response, else a presigned URL to redirect to."""

    file_name: str
    data: bytes | None = None
    redirect_url: str | None = None

    def response(self) -> Response:
        """200 with the bytes as the named file (bytes: API Gateway gets them base64-encoded), or 302."""
        from aws_lambda_powertools.event_handler import Response

        if self.data is None:
            return Response(status_code=302, headers={"Location": str(self.redirect_url)})
        return Response(
            status_code=200,
            content_type="application/octet-stream",
            body=self.data,
            headers={"Content-Disposition": storage.content_disposition(self.file_name)},
        )


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


def assets_repository(kind: Kind) -> AssetsRepository:
    return AssetsRepository(table(), kind)


# --- uploads ----------------------------------------------------------------------------------------


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
    repo = assets_repository(kind)
    current = _owned(kind, principal, asset_id)
    if part is None and screenshot is None:
        if device is None:
            return asset_views.schema(current, None)
        return asset_views.schema(_record_sync(repo, current, device), device)
    _check_not_stale(current, device, overwrite, content=part is not None)
    stored, shot = _store(
        kind, principal.user_id, (current.file_name, part.data) if part else None, screenshot
    )
    written = [f.object_key for f in (stored, shot) if f is not None]
    try:
        record, previous = _update_in_place(repo, kind, principal, asset_id, stored, shot, device, overwrite)
    except AppError:
        storage.delete_objects(written)  # decided: nothing was written
        raise
    except BaseException:
        logger.warning("Update outcome unknown; keeping the uploaded objects", extra={"keys": written})
        raise
    storage.delete_objects(_replaced_keys(previous, record))
    if device is not None:
        touch_last_seen(principal.user_id, device.id)
    return asset_views.schema(record, device)


# --- reads ------------------------------------------------------------------------------------------


@overload
def list_assets(
    kind: Literal["save"],
    principal: Principal,
    *,
    rom_id: int | None = None,
    platform_id: int | None = None,
    slot: str | None = None,
    device_id: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> AssetPage[SaveSchema]: ...
@overload
def list_assets(
    kind: Literal["state"],
    principal: Principal,
    *,
    rom_id: int | None = None,
    platform_id: int | None = None,
    slot: str | None = None,
    device_id: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> AssetPage[StateSchema]: ...
def list_assets(
    kind: Kind,
    principal: Principal,
    *,
    rom_id: int | None = None,
    platform_id: int | None = None,
    slot: str | None = None,
    device_id: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> AssetPage[SaveSchema] | AssetPage[StateSchema]:
    """The caller's saves or states, newest first, `limit` at a time (the cursor names the next page)."""
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    records, next_cursor = assets_repository(kind).page(
        principal.user_id, rom_id=rom_id, platform_id=platform_id, slot=slot, limit=limit, cursor=cursor
    )
    if kind == "state":
        return AssetPage(
            items=[asset_views.state_schema(record) for record in records], next_cursor=next_cursor
        )
    names = asset_views.device_names_of(principal.user_id, records, device)
    saves = [
        asset_views.save_schema(record, device, names) for record in records if isinstance(record, SaveRecord)
    ]
    return AssetPage(items=saves, next_cursor=next_cursor)


def list_identifiers(
    kind: Kind, principal: Principal, *, limit: int, cursor: str | None = None
) -> AssetPage[int]:
    ids, next_cursor = assets_repository(kind).identifiers(principal.user_id, limit, cursor)
    return AssetPage(items=ids, next_cursor=next_cursor)


def saves_summary(principal: Principal, rom_id: int) -> SaveSummarySchema:
    """`{total_count, slots: [{slot, count, latest}]}` for one ROM: one entry per slot (null included)."""
    records = assets_repository("save").all_of_rom(principal.user_id, rom_id)
    counts: dict[str | None, int] = {}
    latest: dict[str | None, SaveRecord] = {}
    for record in records:  # newest first, so the first of each slot is its latest
        assert isinstance(record, SaveRecord)
        counts[record.slot] = counts.get(record.slot, 0) + 1
        latest.setdefault(record.slot, record)
    slots = [
        SlotSummarySchema(slot=slot, count=counts[slot], latest=asset_views.save_schema(record, None))
        for slot, record in latest.items()
    ]
    return SaveSummarySchema(total_count=len(records), slots=slots)


@overload
def get_asset(
    kind: Literal["save"], principal: Principal, asset_id: int, *, device_id: str | None = None
) -> SaveSchema: ...
@overload
def get_asset(
    kind: Literal["state"], principal: Principal, asset_id: int, *, device_id: str | None = None
) -> StateSchema: ...
def get_asset(
    kind: Kind, principal: Principal, asset_id: int, *, device_id: str | None = None
) -> SaveSchema | StateSchema:
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    return asset_views.schema(_owned(kind, principal, asset_id), device)


def open_download(
    kind: Kind,
    principal: Principal,
    asset_id: int,
    *,
    device_id: str | None = None,
    session_id: int | None = None,
    optimistic: bool = True,
) -> AnyRecord:
    """`/content`'s access rules and bookkeeping, without the bytes (also behind `/download-url`).

    Owner: any of theirs; others: public ones only, else 404. With a device and `optimistic`, the
    owner's device is recorded as synced to this version; `session_id` counts one session operation.
    """
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    record = _readable(kind, principal, asset_id)
    if device is not None and optimistic and record.user_id == principal.user_id:
        record = _record_sync(assets_repository(kind), record, device)
    _count_session(kind, principal, session_id)
    return record


def download_screenshot(kind: Kind, principal: Principal, asset_id: int) -> Download:
    """The asset's screenshot, readable by whoever may read the asset (it follows the visibility)."""
    for _ in range(2):  # the screenshot may be replaced between reading the record and the object
        shot = _readable(kind, principal, asset_id).screenshot
        if shot is None:
            break
        download = _download(shot.file_name, shot.object_key, shot.file_size_bytes)
        if download is not None:
            return download
    raise NotFound("Screenshot not found")


def download_asset(
    kind: Kind,
    principal: Principal,
    asset_id: int,
    *,
    device_id: str | None = None,
    session_id: int | None = None,
    optimistic: bool = True,
) -> Download:
    """The bytes with `open_download`'s rules, or a presigned URL when too big for a Lambda response."""
    record = open_download(
        kind, principal, asset_id, device_id=device_id, session_id=session_id, optimistic=optimistic
    )
    for _ in range(2):  # the bytes may be replaced between reading the record and the object
        download = _download(record.file_name, record.object_key, record.file_size_bytes)
        if download is not None:
            return download
        record = _readable(kind, principal, asset_id)
    raise NotFound(f"{kind.capitalize()} file not found")


def _download(file_name: str, object_key: str, size: int) -> Download | None:
    """Inline bytes when they fit a Lambda response, else a presigned URL; None when the object is gone."""
    if size > get_settings().max_inline_download_bytes:
        return Download(file_name, redirect_url=storage.presigned_get(object_key, file_name).url)
    data = _object_or_none(object_key)
    return Download(file_name, data=data) if data is not None else None


# --- sync bookkeeping ---------------------------------------------------------------------------------


def confirm_download(principal: Principal, save_id: int, device_id: str) -> SaveSchema:
    """`POST /api/saves/{id}/downloaded`: the device now holds this version."""
    record = _owned("save", principal, save_id)
    device = resolve_device(principal, device_id, write=True)
    assert device is not None
    return asset_views.save_schema(_record_sync(assets_repository("save"), record, device), device)


def set_tracking(principal: Principal, save_id: int, device_id: str, *, untracked: bool) -> SaveSchema:
    """`/track`, `/untrack`: untrack with no record creates an untracked one; track with none: no change."""
    record = _owned("save", principal, save_id)
    device = resolve_device(principal, device_id, write=True)
    assert device is not None
    repo = assets_repository("save")
    for _ in range(MAX_COMMIT_ATTEMPTS):
        try:
            record = repo.set_untracked_flag(save_id, device.id, untracked)
            break
        except ConcurrentUpdate:
            pass  # no sync record (or no save)
        if not untracked:
            record = _owned("save", principal, save_id)
            break
        try:
            record = repo.add_sync_if_absent(
                save_id, device.id, SyncRecord(last_synced_at=now_iso(), is_untracked=True)
            )
            break
        except ConcurrentUpdate:
            record = _owned("save", principal, save_id)  # a record appeared meanwhile: flip it next round
    assert isinstance(record, SaveRecord)
    return asset_views.save_schema(record, device)


# --- visibility and deletion ----------------------------------------------------------------------------


@overload
def set_visibility(
    kind: Literal["save"], principal: Principal, asset_id: int, is_public: bool
) -> SaveSchema: ...
@overload
def set_visibility(
    kind: Literal["state"], principal: Principal, asset_id: int, is_public: bool
) -> StateSchema: ...
def set_visibility(
    kind: Kind, principal: Principal, asset_id: int, is_public: bool
) -> SaveSchema | StateSchema:
    """Owner only (others get 404). Not content: `updated_at` and device sync state do not move."""
    try:
        record = assets_repository(kind).set_visibility(asset_id, principal.user_id, is_public)
    except ConcurrentUpdate as exc:
        raise _not_found(kind, asset_id) from exc
    return asset_views.schema(record, None)


def delete_assets(kind: Kind, principal: Principal, asset_ids: list[int]) -> list[int]:
    """Delete all of the caller's listed assets, or none (404 naming the first that is not theirs)."""
    if not asset_ids:
        raise BadRequest(f"No {kind}s were provided")
    if len(asset_ids) > MAX_DELETE_IDS:
        raise BadRequest(f"At most {MAX_DELETE_IDS} {kind}s can be deleted at once")
    repo = assets_repository(kind)
    for _ in range(MAX_COMMIT_ATTEMPTS):
        found = repo.get_many(asset_ids, consistent=True)
        for asset_id in asset_ids:
            if asset_id not in found or found[asset_id].user_id != principal.user_id:
                raise _not_found(kind, asset_id)
        try:
            repo.delete_owned(found.values())
            break
        except ConcurrentUpdate:
            _backoff()  # one changed or vanished meanwhile: look again
    else:
        raise Conflict(f"The {kind}s kept changing while being deleted; try again")
    records = list(found.values())
    repo.remove_index_entries(records)
    storage.delete_objects(_all_keys(records))
    return asset_ids


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
    repo = assets_repository("save")
    if context.slot is not None:
        latest = _latest_in_slot(repo, context)
        if latest is not None:
            _check_slot_sync(latest, context.device)
    else:
        existing, _ = _claimed(repo, context, file_name)
        if existing is not None:
            _check_not_stale(existing, context.device, overwrite=False, content=True)


def _commit(context: _Context, stored: StoredFile, screenshot: StoredFile | None) -> _Outcome:
    written = [f.object_key for f in (stored, screenshot) if f is not None]
    try:
        outcome = _commit_with_retries(context, stored, screenshot)
    except AppError as exc:
        storage.delete_objects(written)  # decided: nothing was written, the bytes are nobody's
        if isinstance(exc, Conflict):
            metrics.add_metric(name="SyncConflicts", unit=MetricUnit.Count, value=1)
        raise
    except BaseException:
        # The write may have landed (a timeout after DynamoDB applied it): keeping unreferenced bytes
        # costs a little storage, deleting referenced ones would lose a save.
        logger.warning("Commit outcome unknown; keeping the uploaded objects", extra={"keys": written})
        raise
    if outcome.deduplicated:
        storage.delete_objects(written)
        metrics.add_metric(name="DeduplicatedUploads", unit=MetricUnit.Count, value=1)
        return outcome
    metrics.add_metric(name=f"{context.kind.capitalize()}Uploads", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="UploadedBytes", unit=MetricUnit.Bytes, value=stored.file_size_bytes)
    storage.delete_objects(_replaced_keys(outcome.replaced, outcome.record))
    principal = context.principal
    if context.device is not None:
        touch_last_seen(principal.user_id, context.device.id)
    _count_session(context.kind, principal, context.session_id)
    if context.autocleanup_limit is not None:
        _autocleanup(context, context.autocleanup_limit)
    return outcome


def _commit_with_retries(context: _Context, stored: StoredFile, screenshot: StoredFile | None) -> _Outcome:
    repo = assets_repository(context.kind)
    for _ in range(MAX_COMMIT_ATTEMPTS):
        try:
            if context.slot is not None:
                return _commit_to_slot(repo, context, stored, screenshot)
            return _commit_by_name(repo, context, stored, screenshot)
        except ConcurrentUpdate:
            _backoff()  # another write to this slot or name won: read again and decide again
    raise Conflict("Too many concurrent uploads to the same slot or file name; try again")


def _commit_to_slot(
    repo: AssetsRepository, context: _Context, stored: StoredFile, screenshot: StoredFile | None
) -> _Outcome:
    assert context.slot is not None
    # The revision is read before the members: any member added after this read also moves the revision.
    revision = repo.slot_revision(context.principal.user_id, context.rom_id, context.slot)
    latest = _latest_in_slot(repo, context)
    if latest is not None and context.device is not None and not context.overwrite:
        _check_slot_sync(latest, context.device)
    if not context.overwrite:
        duplicate = _slot_duplicate(repo, context, stored.content_hash)
        if duplicate is not None:
            return _Outcome(duplicate, deduplicated=True)
    moment = _after(latest.updated_at if latest else None)
    record = _new_record(context, stored, screenshot, moment, apply_slot_tag(stored.file_name, moment))
    assert isinstance(record, SaveRecord)
    repo.create_in_slot(record, revision)
    return _Outcome(record)


def _commit_by_name(
    repo: AssetsRepository, context: _Context, stored: StoredFile, screenshot: StoredFile | None
) -> _Outcome:
    existing, dangling_id = _claimed(repo, context, stored.file_name)
    if existing is None:
        record = _new_record(context, stored, screenshot, _after(None), stored.file_name)
        repo.create_named(record, dangling_id)
        return _Outcome(record)
    if context.device is not None and not context.overwrite:
        _check_not_stale(existing, context.device, overwrite=False, content=True)
    moment = _after(existing.updated_at)
    changes = {
        **_content_fields(stored, moment),
        "emulator": context.emulator,
        "file_path": _folder(context),
    }
    if screenshot is not None:
        changes["screenshot"] = _screenshot_record(screenshot, moment)
    record, sync_device = _with_changes(existing, changes, context.device, moment)
    repo.update_content(ContentChange(record, existing.version, existing.updated_at, sync_device))
    return _Outcome(record, replaced=existing)


def _update_in_place(
    repo: AssetsRepository,
    kind: Kind,
    principal: Principal,
    asset_id: int,
    stored: StoredFile | None,
    screenshot: StoredFile | None,
    device: DeviceRecord | None,
    overwrite: bool,
) -> tuple[AnyRecord, AnyRecord]:
    for _ in range(MAX_COMMIT_ATTEMPTS):
        current = _owned(kind, principal, asset_id)
        _check_not_stale(current, device, overwrite, content=stored is not None)
        moment = _after(current.updated_at) if stored is not None else parse_iso(current.updated_at)
        changes: dict[str, object] = _content_fields(stored, moment) if stored is not None else {}
        if screenshot is not None:
            changes["screenshot"] = _screenshot_record(screenshot, utcnow())
        record, sync_device = _with_changes(current, changes, device, moment)
        try:
            repo.update_content(ContentChange(record, current.version, current.updated_at, sync_device))
            return record, current
        except ConcurrentUpdate:
            _backoff()
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


def _latest_in_slot(repo: AssetsRepository, context: _Context) -> SaveRecord | None:
    """The slot's newest save (strongly consistent); members whose save is gone are dropped on the way."""
    assert context.slot is not None
    user_id, rom_id, slot = context.principal.user_id, context.rom_id, context.slot
    want = 4
    while True:
        members = repo.slot_members(user_id, rom_id, slot, limit=want)
        for member in members:
            record = repo.get(member.save_id, consistent=True)
            if isinstance(record, SaveRecord):
                return record
            repo.delete_slot_member(user_id, rom_id, slot, member)
        if len(members) < want:
            return None
        want *= 4


def _slot_duplicate(repo: AssetsRepository, context: _Context, digest: str) -> SaveRecord | None:
    assert context.slot is not None
    user_id, rom_id, slot = context.principal.user_id, context.rom_id, context.slot
    for member in repo.slot_members_with_hash(user_id, rom_id, slot, digest):
        record = repo.get(member.save_id, consistent=True)
        if isinstance(record, SaveRecord) and record.content_hash == digest:
            return record
        if record is None:
            repo.delete_slot_member(user_id, rom_id, slot, member)
    return None


def _claimed(
    repo: AssetsRepository, context: _Context, file_name: str
) -> tuple[AnyRecord | None, int | None]:
    """(the asset holding this slot-less name, or None; the id of a claim whose asset is gone)."""
    claimed_id = repo.name_claim(context.principal.user_id, context.rom_id, file_name)
    if claimed_id is None:
        return None, None
    existing = repo.get(claimed_id, consistent=True)
    return (existing, None) if existing is not None else (None, claimed_id)


def _check_slot_sync(latest: SaveRecord, device: DeviceRecord) -> None:
    sync = latest.syncs.get(device.id)
    if sync is None or parse_iso(sync.last_synced_at) < parse_iso(latest.updated_at):
        raise Conflict(SLOT_CONFLICT)


def _check_not_stale(
    current: AnyRecord, device: DeviceRecord | None, overwrite: bool, *, content: bool
) -> None:
    """RomM's same-name rule: a device whose sync record is older than the save's content gets 409."""
    if not isinstance(current, SaveRecord) or device is None or overwrite or not content:
        return
    sync = current.syncs.get(device.id)
    if sync is not None and parse_iso(sync.last_synced_at) < parse_iso(current.updated_at):
        raise Conflict(SAVE_CONFLICT)


def _autocleanup(context: _Context, keep: int) -> None:
    """Keep the slot's newest `keep` saves; delete the older ones, their index entries and bytes."""
    assert context.slot is not None
    repo = assets_repository("save")
    user_id, rom_id, slot = context.principal.user_id, context.rom_id, context.slot
    members = repo.slot_members(user_id, rom_id, slot)
    if len(members) <= keep:
        return
    records = repo.get_many([m.save_id for m in members], consistent=True)
    for member in members:
        if member.save_id not in records:
            repo.delete_slot_member(user_id, rom_id, slot, member)
    live = [records[m.save_id] for m in members if m.save_id in records]
    deleted = [record for record in live[keep:] if repo.delete_one(record)]
    repo.remove_index_entries(deleted)
    storage.delete_objects(_all_keys(deleted))


def _store(
    kind: Kind, user_id: int, file: tuple[str, bytes] | None, screenshot: tuple[str, bytes] | None
) -> tuple[StoredFile | None, StoredFile | None]:
    """Put the (name, bytes) of the file and of the screenshot at fresh keys: both or neither."""
    stored_file = stored_shot = None
    try:
        if file is not None:
            stored_file = _put(kind, user_id, *file)
        if screenshot is not None:
            stored_shot = _put("screenshot", user_id, *screenshot)
    except BaseException:
        storage.delete_objects(f.object_key for f in (stored_file, stored_shot) if f is not None)
        raise
    return stored_file, stored_shot


def _put(folder: str, user_id: int, name: str, data: bytes) -> StoredFile:
    stored = StoredFile(name, len(data), content_hash(data), storage.new_object_key(folder, user_id, name))
    storage.put_object(stored.object_key, data)
    return stored


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


def _backoff() -> None:
    time.sleep(random.uniform(0.005, 0.03))


# --- shared internals ----------------------------------------------------------------------------------


def _owned(kind: Kind, principal: Principal, asset_id: int) -> AnyRecord:
    record = assets_repository(kind).get(asset_id, consistent=True)
    if record is None or record.user_id != principal.user_id:
        raise _not_found(kind, asset_id)
    return record


def _readable(kind: Kind, principal: Principal, asset_id: int) -> AnyRecord:
    record = assets_repository(kind).get(asset_id, consistent=True)
    if record is None or (record.user_id != principal.user_id and not record.is_public):
        raise _not_found(kind, asset_id)
    return record


def _not_found(kind: Kind, asset_id: int) -> NotFound:
    return NotFound(f"{kind.capitalize()} with ID {asset_id} not found")


def _object_or_none(key: str) -> bytes | None:
    from botocore.exceptions import ClientError

    try:
        return storage.get_object(key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def _record_sync(repo: AssetsRepository, record: AnyRecord, device: DeviceRecord) -> SaveRecord:
    """The device holds `record`'s version now (RomM's upsert_sync: also re-tracks it)."""
    try:
        synced = repo.put_sync(record.id, device.id, SyncRecord(last_synced_at=record.updated_at))
    except ConcurrentUpdate as exc:
        raise _not_found("save", record.id) from exc
    touch_last_seen(record.user_id, device.id)
    return synced


def _count_session(kind: Kind, principal: Principal, session_id: int | None) -> None:
    if kind != "save" or not session_id:
        return
    try:
        assets_repository(kind).count_session_operation(principal.user_id, session_id, now_iso())
    except Exception:  # RomM: counting is bookkeeping, never a reason to fail the transfer
        logger.warning(
            "Could not count a sync session operation", extra={"session_id": session_id}, exc_info=True
        )


def _replaced_keys(previous: AnyRecord | None, current: AnyRecord) -> list[str]:
    """Object keys `previous` held that `current` no longer points at."""
    if previous is None:
        return []
    old = set(_all_keys([previous]))
    return sorted(old - set(_all_keys([current])))


def _all_keys(records: Iterable[AnyRecord]) -> list[str]:
    found: list[str] = []
    for record in records:
        found.append(record.object_key)
        if record.screenshot is not None:
            found.append(record.screenshot.object_key)
    return found
