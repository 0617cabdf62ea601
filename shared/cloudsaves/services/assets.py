"""Saves and states: the use cases behind /api/saves and /api/states, parametrised by kind.

Uploads take one path whether the bytes arrive in a multipart body or straight in S3 (section 7):
`check_upload_allowed` (validation and the conflict guard's pre-check, before any byte moves), the
bytes stored at a fresh key, then `commit_upload`, which decides again and writes in one conditional
transaction (`AssetsRepository.create_in_slot` / `create_named` / `update_content`), re-deciding when
the transaction loses a race. Bytes no record points at are deleted; bytes a record stopped pointing
at are deleted after the commit (the versioned bucket keeps them for the retention period).
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.clock import iso, now_iso, parse_iso, utcnow
from cloudsaves.errors import BadRequest, ConcurrentUpdate, Conflict, NotFound, PayloadTooLarge
from cloudsaves.filenames import (
    InvalidFileName,
    InvalidPathSegment,
    apply_slot_tag,
    sanitize_file_name,
    sanitize_segment,
    split_name,
)
from cloudsaves.hashing import content_hash
from cloudsaves.http import NEXT_CURSOR_HEADER, Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.assets import (
    MAX_DELETE_IDS,
    AnyRecord,
    DeviceSyncSchema,
    Kind,
    SaveRecord,
    SaveSchema,
    SaveSummarySchema,
    ScreenshotRecord,
    ScreenshotSchema,
    SlotSummarySchema,
    StateRecord,
    StateSchema,
    StoredFile,
    SyncRecord,
    UploadParams,
)
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.multipart import FormPart, MultipartError, parse_form
from cloudsaves.observability import logger
from cloudsaves.repositories.assets import AssetsRepository, ContentChange
from cloudsaves.services.devices import device_names, resolve_device, touch_last_seen
from cloudsaves.services.roms import get_rom
from cloudsaves.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

SLOT_CONFLICT = "Slot has a newer save since your last sync"
SAVE_CONFLICT = "Save has been updated since your last sync"
AUTOCLEANUP_MIN, AUTOCLEANUP_MAX = 1, 100
# Each attempt re-reads and decides again; only a storm of writers to one slot or name exhausts them.
MAX_COMMIT_ATTEMPTS = 8

_NOUN = {"save": "save", "state": "state"}
_FILE_PART = {"save": "saveFile", "state": "stateFile"}
_SCREENSHOT_PART = "screenshotFile"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ONE_MICROSECOND = timedelta(microseconds=1)


class RequestBody(Protocol):
    """What the service needs of an API Gateway event to read a multipart body (Powertools' event fits)."""

    @property
    def body(self) -> str | None: ...

    @property
    def is_base64_encoded(self) -> bool | None: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class AssetPage:
    """One page of a list: the items (a plain JSON array for RomM clients) and the next page's cursor."""

    items: list[SaveSchema] | list[StateSchema] | list[int]
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


@dataclass
class _Outcome:
    record: AnyRecord
    deduplicated: bool = False
    replaced: AnyRecord | None = None
    unused_keys: list[str] = field(default_factory=list)


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
    name = _sanitized_name(kind, file_name)
    _precheck(context, name)
    return name


def commit_upload(
    kind: Kind,
    principal: Principal,
    params: UploadParams,
    stored: StoredFile,
    screenshot: StoredFile | None = None,
) -> AnyRecord:
    """Commit bytes already in S3 (at final keys from `storage.new_object_key`) as a save or state.

    Same rules as the multipart upload: slot tag, same-name update in place, dedup, the conflict guard
    re-checked in the same conditional write, device sync, autocleanup, session counting.
    Owns the stored objects from here on: when they end up unused (dedup answer, Conflict, any error)
    they are deleted. Returns the record (the existing one on a dedup answer); `upload_schema` renders it.
    """
    context = _prepare(kind, principal, params)
    return _commit(context, stored, screenshot).record


def upload_schema(
    kind: Kind, principal: Principal, params: UploadParams, record: AnyRecord
) -> SaveSchema | StateSchema:
    """The upload's answer for `record`: SaveSchema with device_syncs when the upload named a device."""
    device = resolve_device(principal, params.device_id, write=True) if kind == "save" else None
    return _schema(kind, record, device)


def upload_from_request(
    kind: Kind, principal: Principal, params: UploadParams, request: RequestBody
) -> SaveSchema | StateSchema:
    """`POST /api/saves` / `POST /api/states`: a multipart body with the file and an optional screenshot."""
    form = _read_form(kind, request, required=True)
    context = _prepare(kind, principal, params)
    part = _file_part(form, _FILE_PART[kind], _NOUN[kind], required=True)
    assert part is not None and part.filename is not None
    name = _sanitized_name(kind, part.filename)
    shot_part = _file_part(form, _SCREENSHOT_PART, "screenshot", required=False)
    shot_name = (
        _sanitized_name("screenshot", shot_part.filename) if shot_part and shot_part.filename else None
    )
    _precheck(context, name)
    stored, shot = _store(kind, principal.user_id, name, part.data, shot_name, shot_part)
    outcome = _commit(context, stored, shot)
    return _schema(kind, outcome.record, context.device)


def update_from_request(
    kind: Kind,
    principal: Principal,
    asset_id: int,
    request: RequestBody,
    *,
    device_id: str | None = None,
    overwrite: bool = False,
) -> SaveSchema | StateSchema:
    """`PUT /api/saves/{id}` / `PUT /api/states/{id}`: replace the content and/or the screenshot.

    With a device named (saves), content that changed since that device's last sync is not
    overwritten (409) unless `overwrite`; the write is conditional on the version the check saw.
    """
    device = resolve_device(principal, device_id, write=True) if kind == "save" else None
    form = _read_form(kind, request, required=False)
    part = _file_part(form, _FILE_PART[kind], _NOUN[kind], required=False)
    shot_part = _file_part(form, _SCREENSHOT_PART, "screenshot", required=False)
    shot_name = (
        _sanitized_name("screenshot", shot_part.filename) if shot_part and shot_part.filename else None
    )
    repo = assets_repository(kind)
    current = _owned(kind, principal, asset_id)
    if part is None and shot_part is None:
        if device is None:
            return _schema(kind, current, None)
        return _schema(kind, _record_sync(repo, current, device), device)
    _check_not_stale(current, device, overwrite, content=part is not None)
    stored, shot = _store(
        kind, principal.user_id, current.file_name, part.data if part else None, shot_name, shot_part
    )
    keys_written = [k.object_key for k in (stored, shot) if k is not None]
    try:
        record, previous = _update_in_place(repo, kind, principal, asset_id, stored, shot, device, overwrite)
    except BaseException:
        storage.delete_objects(keys_written)
        raise
    storage.delete_objects(_replaced_keys(previous, record))
    if device is not None:
        touch_last_seen(principal.user_id, device.id)
    return _schema(kind, record, device)


# --- reads ------------------------------------------------------------------------------------------


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
) -> AssetPage:
    """The caller's saves or states, newest first, `limit` at a time (the cursor names the next page)."""
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    records, next_cursor = assets_repository(kind).page(
        principal.user_id, rom_id=rom_id, platform_id=platform_id, slot=slot, limit=limit, cursor=cursor
    )
    return AssetPage(items=_schemas(kind, principal, records, device), next_cursor=next_cursor)  # type: ignore[arg-type]


def list_identifiers(kind: Kind, principal: Principal, *, limit: int, cursor: str | None = None) -> AssetPage:
    ids, next_cursor = assets_repository(kind).identifiers(principal.user_id, limit, cursor)
    return AssetPage(items=ids, next_cursor=next_cursor)


def saves_summary(principal: Principal, rom_id: int) -> SaveSummarySchema:
    """`{total_count, slots: [{slot, count, latest}]}` for one ROM: one entry per slot (null included)."""
    records = assets_repository("save").all_of_rom(principal.user_id, rom_id)
    counts: dict[str | None, int] = {}
    latest: dict[str | None, AnyRecord] = {}
    for record in records:  # newest first, so the first of each slot is its latest
        slot = record.slot if isinstance(record, SaveRecord) else None
        counts[slot] = counts.get(slot, 0) + 1
        latest.setdefault(slot, record)
    slots = [
        SlotSummarySchema(slot=slot, count=counts[slot], latest=_schema("save", record, None))  # type: ignore[arg-type]
        for slot, record in latest.items()
    ]
    return SaveSummarySchema(total_count=len(records), slots=slots)


def get_asset(
    kind: Kind, principal: Principal, asset_id: int, *, device_id: str | None = None
) -> SaveSchema | StateSchema:
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    return _schema(kind, _owned(kind, principal, asset_id), device)


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
        if record.file_size_bytes > get_settings().max_inline_download_bytes:
            url = storage.presigned_get(record.object_key, record.file_name).url
            return Download(record.file_name, redirect_url=url)
        data = _object_or_none(record.object_key)
        if data is not None:
            return Download(record.file_name, data=data)
        record = _readable(kind, principal, asset_id)
    raise NotFound(f"{_NOUN[kind].capitalize()} file not found")


# --- sync bookkeeping ---------------------------------------------------------------------------------


def confirm_download(principal: Principal, save_id: int, device_id: str) -> SaveSchema:
    """`POST /api/saves/{id}/downloaded`: the device now holds this version."""
    record = _owned("save", principal, save_id)
    device = resolve_device(principal, device_id, write=True)
    assert device is not None
    return _schema("save", _record_sync(assets_repository("save"), record, device), device)  # type: ignore[return-value]


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
    return _schema("save", record, device)  # type: ignore[return-value]


# --- visibility and deletion ----------------------------------------------------------------------------


def set_visibility(
    kind: Kind, principal: Principal, asset_id: int, is_public: bool
) -> SaveSchema | StateSchema:
    """Owner only (others get 404). Not content: `updated_at` and device sync state do not move."""
    try:
        record = assets_repository(kind).set_visibility(asset_id, principal.user_id, is_public)
    except ConcurrentUpdate as exc:
        raise _not_found(kind, asset_id) from exc
    return _schema(kind, record, None)


def delete_assets(kind: Kind, principal: Principal, asset_ids: list[int]) -> list[int]:
    """Delete all of the caller's listed assets, or none (404 naming the first that is not theirs)."""
    noun = _NOUN[kind]
    if not asset_ids:
        raise BadRequest(f"No {noun}s were provided")
    if len(asset_ids) > MAX_DELETE_IDS:
        raise BadRequest(f"At most {MAX_DELETE_IDS} {noun}s can be deleted at once")
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
        raise Conflict(f"The {noun}s kept changing while being deleted; try again")
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
    segment = _name_segment("emulator", emulator)
    _name_segment("slot", slot)
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
    except BaseException:
        storage.delete_objects(written)
        raise
    if outcome.deduplicated:
        storage.delete_objects(written)
        return outcome
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
    repo.create_in_slot(record, revision)  # type: ignore[arg-type]
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
    raise Conflict(f"The {_NOUN[kind]} kept changing while being updated; try again")


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
        "id": new_int_id(),
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
    kind: Kind,
    user_id: int,
    file_name: str,
    data: bytes | None,
    shot_name: str | None,
    shot_part: FormPart | None,
) -> tuple[StoredFile | None, StoredFile | None]:
    """Put the file and screenshot at fresh keys (both or neither)."""
    written: list[str] = []
    try:
        stored = None
        if data is not None:
            stored = StoredFile(
                file_name, len(data), content_hash(data), storage.new_object_key(kind, user_id, file_name)
            )
            storage.put_object(stored.object_key, data)
            written.append(stored.object_key)
        shot = None
        if shot_name is not None and shot_part is not None:
            key = storage.new_object_key("screenshot", user_id, shot_name)
            shot = StoredFile(shot_name, len(shot_part.data), content_hash(shot_part.data), key)
            storage.put_object(key, shot_part.data)
            written.append(key)
    except BaseException:
        storage.delete_objects(written)
        raise
    return stored, shot


def _read_form(kind: Kind, request: RequestBody, *, required: bool) -> dict[str, list[FormPart]]:
    raw = request.body or ""
    limit = get_settings().max_inline_upload_bytes
    # A base64 body decodes to 3/4 of its length: refuse before decoding anything too big.
    if (len(raw) * 3 // 4 if request.is_base64_encoded else len(raw)) > limit + 3:
        raise _too_large(kind, limit)
    try:
        data = (
            base64.b64decode(raw, validate=True)
            if request.is_base64_encoded
            else raw.encode("utf-8", "surrogateescape")
        )
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Malformed request body") from exc
    if len(data) > limit:
        raise _too_large(kind, limit)
    if not data and not required:
        return {}
    headers = request.headers or {}
    content_type = headers.get("content-type") or headers.get("Content-Type") or ""
    try:
        return parse_form(data, content_type)
    except MultipartError as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from exc


def _too_large(kind: Kind, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Request body is larger than {limit} bytes. Upload large files with the direct-upload flow: "
        f"POST /api/{kind}s/uploads, PUT the bytes to the URL it returns, then POST "
        f"/api/{kind}s/uploads/{{upload_id}}/complete"
    )


def _file_part(form: dict[str, list[FormPart]], name: str, noun: str, *, required: bool) -> FormPart | None:
    parts = form.get(name) or []
    if len(parts) > 1:
        raise BadRequest(f"Send one {name} part, not {len(parts)}")
    if not parts:
        if required:
            raise BadRequest(f"No {noun} file provided")
        return None
    part = parts[0]
    if not part.filename:
        if required:
            raise BadRequest(f"{noun.capitalize()} file has no filename")
        return None  # RomM ignores a screenshot part without a file name
    if not part.data:
        raise BadRequest(f"{noun.capitalize()} file is empty")
    return part


def _sanitized_name(noun: str, raw: str) -> str:
    try:
        return sanitize_file_name(raw)
    except InvalidFileName as exc:
        raise BadRequest(f"Invalid {noun} filename: {exc}") from exc


def _name_segment(label: str, value: str | None) -> str | None:
    """`emulator`/`slot` are names: one safe path segment, never a control character (else 400)."""
    if value is None:
        return None
    if _CONTROL.search(value):
        raise BadRequest(f"Invalid {label}: control characters are not allowed")
    try:
        return sanitize_segment(value)
    except InvalidPathSegment as exc:
        raise BadRequest(f"Invalid {label}: {exc}") from exc


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
    return NotFound(f"{_NOUN[kind].capitalize()} with ID {asset_id} not found")


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


# --- rendering ----------------------------------------------------------------------------------------


def _schemas(kind: Kind, principal: Principal, records: list[AnyRecord], device: DeviceRecord | None) -> list:
    names = _names_of(principal.user_id, records, device)
    return [_schema(kind, record, device, names) for record in records]


def _schema(
    kind: Kind, record: AnyRecord, device: DeviceRecord | None, names: dict[str, str | None] | None = None
) -> SaveSchema | StateSchema:
    full_path = f"{record.file_path}/{record.file_name}"
    fields = {
        **record.model_dump(
            include={
                "id",
                "rom_id",
                "user_id",
                "file_name",
                "file_name_no_tags",
                "file_name_no_ext",
                "file_extension",
                "file_path",
                "file_size_bytes",
                "created_at",
                "updated_at",
                "emulator",
                "content_hash",
                "is_public",
            }
        ),
        "full_path": full_path,
        "download_path": f"/api/{kind}s/{record.id}/content?timestamp={quote(record.updated_at, safe='')}",
        "missing_from_fs": False,
        "screenshot": _screenshot_schema(record),
    }
    if not isinstance(record, SaveRecord):
        return StateSchema.model_validate(fields)
    if names is None:
        names = _names_of(record.user_id, [record], device)
    return SaveSchema.model_validate(
        {
            **fields,
            "slot": record.slot,
            "origin_device_id": record.origin_device_id,
            "device_syncs": _device_syncs(record, device, names),
        }
    )


def _screenshot_schema(record: AnyRecord) -> ScreenshotSchema | None:
    shot = record.screenshot
    if shot is None:
        return None
    parts = split_name(shot.file_name)
    folder = f"users/{record.user_id}/screenshots/{record.platform_fs_slug}/{record.rom_id}"
    full_path = f"{folder}/{shot.file_name}"
    return ScreenshotSchema(
        id=shot.id,
        rom_id=record.rom_id,
        user_id=record.user_id,
        file_name=shot.file_name,
        file_name_no_tags=parts.no_tags,
        file_name_no_ext=parts.no_ext,
        file_extension=parts.extension,
        file_path=folder,
        file_size_bytes=shot.file_size_bytes,
        full_path=full_path,
        download_path=f"/api/raw/assets/{quote(full_path)}?timestamp={quote(shot.updated_at, safe='')}",
        created_at=shot.created_at,
        updated_at=shot.updated_at,
        is_public=record.is_public,  # the screenshot follows its save's visibility
    )


def _names_of(user_id: int, records: list[AnyRecord], device: DeviceRecord | None) -> dict[str, str | None]:
    """Names of every other device with a sync record on these saves: one BatchGetItem for the page."""
    if device is None:
        return {}
    others = {d for r in records if isinstance(r, SaveRecord) for d in r.syncs if d != device.id}
    return device_names(user_id, others) if others else {}


def _device_syncs(
    record: SaveRecord, device: DeviceRecord | None, names: dict[str, str | None]
) -> list[DeviceSyncSchema]:
    """RomM's device_syncs: only when a device is named; the caller's entry first (a placeholder if none)."""
    if device is None:
        return []
    updated = parse_iso(record.updated_at)
    entries = [
        DeviceSyncSchema(
            device_id=device_id,
            device_name=device.name if device_id == device.id else names.get(device_id),
            last_synced_at=sync.last_synced_at,
            is_untracked=sync.is_untracked,
            is_current=parse_iso(sync.last_synced_at) >= updated,
        )
        for device_id, sync in sorted(
            record.syncs.items(), key=lambda item: (-parse_iso(item[1].last_synced_at).timestamp(), item[0])
        )
        if device_id == device.id or device_id in names  # a deleted device's record is not shown
    ]
    if device.id not in record.syncs:
        entries.append(
            DeviceSyncSchema(
                device_id=device.id,
                device_name=device.name,
                last_synced_at=record.updated_at,
                is_untracked=False,
                is_current=False,
            )
        )
    entries.sort(key=lambda entry: entry.device_id != device.id)
    return entries
