"""Direct uploads and downloads (API.md section 7): the bytes go between the device and S3 only.

Reserve checks everything a multipart upload would (the conflict guard included) and hands out a
presigned PUT for exactly the promised size and MD5. Complete checks the staged bytes (size, and the
MD5 read back: moto does not enforce what a presigned URL signs), copies exactly the version it
checked to a final key, and commits through the multipart upload's own rules
(`asset_uploads.commit_upload`). A conditional write on the reservation moves it
pending -> committing -> done, so concurrent completes commit once.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.clock import utcnow
from cloudsaves.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from cloudsaves.filenames import InvalidFileName, sanitize_file_name
from cloudsaves.hashing import base64_to_hex, content_hash_file
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id, new_uuid
from cloudsaves.models.assets import AnyRecord, Kind, SaveSchema, StateSchema, StoredFile, UploadParams
from cloudsaves.models.uploads import (
    DownloadUrl,
    PresignedRequest,
    SaveUploadCreate,
    SaveUploadCreated,
    StagedFile,
    StateUploadCreate,
    StateUploadCreated,
    UploadFile,
    UploadReservation,
)
from cloudsaves.observability import metrics
from cloudsaves.repositories.uploads import UploadsRepository
from cloudsaves.services import asset_downloads, asset_records, asset_uploads, orphans
from cloudsaves.settings import get_settings

# A claim older than the complete functions' Timeout (120 s in template.yaml) belongs to a completer
# that died: another may take over. A test ties the two.
CLAIM_LEASE = timedelta(seconds=130)
# How long a complete waits for a concurrent one on the same upload before answering 409.
WAIT_FOR_OTHER_SECONDS = 10.0
_POLL_SECONDS = 0.2
_ZIP_MAGIC = b"PK"
_ZIP_END_RECORD = b"PK\x05\x06"
_ZIP_TAIL_BYTES = 22 + 65_535  # a zip's end-of-central-directory record starts within this of its end


class UploadExpired(AppError):
    status_code = 410


class _ReplayedError(AppError):
    """The error a failed commit answered, answered again to every later complete."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code


class _Mismatch(Exception):
    """What S3 holds is not what was reserved."""


def uploads_repository() -> UploadsRepository:
    return UploadsRepository(table())


# --- reserve --------------------------------------------------------------------------------------


def create_upload(
    kind: Kind, principal: Principal, request: SaveUploadCreate | StateUploadCreate
) -> SaveUploadCreated | StateUploadCreated:
    """Reserve an upload: every multipart check first (409 before a byte moves), then presigned PUTs."""
    params = request.upload_params()
    file_name = asset_uploads.check_upload_allowed(kind, principal, params, request.file_name)
    screenshot_name = _screenshot_name(request.screenshot)

    ttl = get_settings().upload_reservation_ttl_seconds
    now = utcnow()
    upload_id = new_uuid()
    file = _staged(principal.user_id, upload_id, "file", request, file_name)
    screenshot = None
    if request.screenshot is not None and screenshot_name is not None:
        screenshot = _staged(principal.user_id, upload_id, "screenshot", request.screenshot, screenshot_name)
    reservation = UploadReservation(
        upload_id=upload_id,
        kind=kind,
        user_id=principal.user_id,
        params=params.model_dump(mode="json"),
        file=file,
        screenshot=screenshot,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        record_id=new_int_id(),
    )
    uploads_repository().create(reservation)

    file_put = _presigned_put(file, ttl)
    screenshot_put = _presigned_put(screenshot, ttl) if screenshot else None
    if kind == "save":
        return SaveUploadCreated(
            upload_id=upload_id, expires_at=reservation.expires_at, save=file_put, screenshot=screenshot_put
        )
    return StateUploadCreated(
        upload_id=upload_id, expires_at=reservation.expires_at, state=file_put, screenshot=screenshot_put
    )


def _staged(user_id: int, upload_id: str, part: str, upload: UploadFile, file_name: str) -> StagedFile:
    return StagedFile(
        file_name=file_name,
        file_size_bytes=upload.file_size_bytes,
        content_md5=upload.content_md5,
        staging_key=storage.staging_key(user_id, upload_id, part),
    )


def _presigned_put(file: StagedFile, ttl: int) -> PresignedRequest:
    url, headers = storage.presigned_put(file.staging_key, file.file_size_bytes, file.content_md5, ttl)
    return PresignedRequest(url=url, headers=headers)


def _screenshot_name(screenshot: UploadFile | None) -> str | None:
    if screenshot is None:
        return None
    try:
        return sanitize_file_name(screenshot.file_name)
    except InvalidFileName as exc:
        raise BadRequest(f"Invalid screenshot filename: {exc}") from exc


# --- complete -------------------------------------------------------------------------------------


def complete_upload(kind: Kind, principal: Principal, upload_id: str) -> SaveSchema | StateSchema:
    """Commit what the client PUT: once, however many completes run; the same record on every retry."""
    repo = uploads_repository()
    claim_token = new_uuid()
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    while True:
        reservation = repo.get(upload_id)
        if reservation is None or reservation.user_id != principal.user_id or reservation.kind != kind:
            raise NotFound("Upload not found")
        now = utcnow()
        if reservation.status == "done" and reservation.result_id is not None:
            return _committed_record(kind, principal, reservation)
        if reservation.status == "failed":
            raise _stored_error(reservation)
        claim_is_stale = reservation.claimed_at is None or reservation.claimed_at < now - CLAIM_LEASE
        if now >= reservation.expires_at and (reservation.status == "pending" or claim_is_stale):
            # TTL deletes late, so expiry is checked on every read too.
            raise UploadExpired("Upload has expired; reserve it again")
        if repo.claim(upload_id, principal.user_id, claim_token, now, now - CLAIM_LEASE):
            return _commit(kind, principal, reservation, claim_token)
        if time.monotonic() > deadline:
            raise Conflict("This upload is being completed by another request; retry shortly")
        time.sleep(_POLL_SECONDS)


def _commit(
    kind: Kind, principal: Principal, reservation: UploadReservation, token: str
) -> SaveSchema | StateSchema:
    repo = uploads_repository()
    staged = [f for f in (reservation.file, reservation.screenshot) if f is not None]
    params = UploadParams.model_validate(reservation.params)
    committed = _committed_before(kind, principal, reservation)
    if committed is not None:
        return _finish(kind, principal, params, reservation, token, committed, staged)
    stored: list[StoredFile] = []
    try:
        for file, stored_kind in zip(staged, (kind, "screenshot"), strict=False):
            stored.append(_check_and_copy(principal.user_id, stored_kind, file))
    except _Mismatch as exc:
        metrics.add_metric(name="DirectUploadsRejected", unit=MetricUnit.Count, value=1)
        _discard(staged, stored)
        repo.release(reservation.upload_id, token)  # nothing committed: the client may PUT again
        raise Unprocessable(str(exc)) from None
    except BaseException:
        orphans.discard(stored)
        repo.release(reservation.upload_id, token)  # unexpected: a retry starts over from the staged bytes
        raise
    try:
        # From here commit_upload owns the final copies: it deletes them if they end up unused.
        record = asset_uploads.commit_upload(
            kind, principal, params, stored[0], stored[1] if len(stored) > 1 else None, reservation.record_id
        )
    except (Forbidden, ServiceUnavailable):
        # About this caller's scopes or a busy table, not the upload: the staged bytes stay, a retry commits.
        repo.release(reservation.upload_id, token)
        raise
    except AppError as exc:
        # Refused (409 guard, ROM or device gone...): final, and every retry answers the same.
        _discard(staged, [])
        repo.fail(reservation.upload_id, token, exc.status_code, str(exc.detail))
        raise
    except BaseException:
        repo.release(reservation.upload_id, token)
        raise
    return _finish(kind, principal, params, reservation, token, record, staged)


def _committed_before(kind: Kind, principal: Principal, reservation: UploadReservation) -> AnyRecord | None:
    """The record an earlier complete of this upload created, when it died before marking it done."""
    if reservation.record_id is None:
        return None
    record = asset_records.assets_repository(kind).get(reservation.record_id, consistent=True)
    return record if record is not None and record.user_id == principal.user_id else None


def _finish(
    kind: Kind,
    principal: Principal,
    params: UploadParams,
    reservation: UploadReservation,
    token: str,
    record: AnyRecord,
    staged: list[StagedFile],
) -> SaveSchema | StateSchema:
    ttl = timedelta(seconds=get_settings().upload_reservation_ttl_seconds)
    uploads_repository().finish(reservation.upload_id, token, record.id, keep_until=utcnow() + ttl)
    _discard(staged, [])
    return asset_uploads.upload_schema(kind, principal, params, record)


def _check_and_copy(user_id: int, kind: str, file: StagedFile) -> StoredFile:
    """Check the staged bytes, then copy exactly the version checked to a fresh final key."""
    label = "Screenshot" if kind == "screenshot" else "File"
    staged = storage.head_staged(file.staging_key)
    if staged is None:
        raise _Mismatch(f"{label} has not been uploaded")
    if staged.size != file.file_size_bytes:
        raise _Mismatch(f"{label} is {staged.size} bytes, {file.file_size_bytes} were reserved")
    content_hash = _verified_hash(file, staged.version_id, label)
    final_key = storage.new_object_key(kind, user_id, file.file_name)
    noted_at = orphans.note_pending(final_key)
    storage.copy_staged(file.staging_key, final_key, staged)
    return StoredFile(file.file_name, file.file_size_bytes, content_hash, final_key, noted_at)


def _verified_hash(file: StagedFile, version_id: str | None, label: str) -> str:
    """RomM's content hash of the staged version, after checking its size and MD5 against the reservation.

    One streaming pass; only a likely zip is spooled to disk for its member hashes (a 200 MB state is
    neither held in memory nor written to Lambda's /tmp).
    """
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    tail = b""
    with tempfile.TemporaryFile() as spool:
        spooling: bool | None = None
        for chunk in storage.iter_object(file.staging_key, version_id):
            if spooling is None:
                spooling = chunk.startswith(_ZIP_MAGIC)
            if spooling:
                spool.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            tail = (tail + chunk)[-_ZIP_TAIL_BYTES:]
        if size != file.file_size_bytes:
            raise _Mismatch(f"{label} is {size} bytes, {file.file_size_bytes} were reserved")
        if digest.hexdigest() != base64_to_hex(file.content_md5):
            raise _Mismatch(f"{label} does not match its Content-MD5")
        if not spooling and _ZIP_END_RECORD in tail:
            # A zip behind leading bytes (zipfile accepts those too): rare, so read it a second time.
            for chunk in storage.iter_object(file.staging_key, version_id):
                spool.write(chunk)
            spooling = True
        # content_hash_file falls back to the plain MD5 for what turns out not to be a zip.
        return content_hash_file(spool) if spooling else digest.hexdigest()


def _discard(staged: list[StagedFile], stored: list[StoredFile]) -> None:
    orphans.discard(stored)
    for file in staged:
        storage.purge_staged(file.staging_key)


def _committed_record(
    kind: Kind, principal: Principal, reservation: UploadReservation
) -> SaveSchema | StateSchema:
    assert reservation.result_id is not None
    record = asset_records.assets_repository(kind).get(reservation.result_id, consistent=True)
    if record is None or record.user_id != principal.user_id:  # deleted since
        raise NotFound(f"{kind.capitalize()} with ID {reservation.result_id} not found")
    return asset_uploads.upload_schema(
        kind, principal, UploadParams.model_validate(reservation.params), record
    )


def _stored_error(reservation: UploadReservation) -> AppError:
    return _ReplayedError(reservation.error_status or 400, reservation.error_detail or "Upload failed")


# --- download -------------------------------------------------------------------------------------


def create_download_url(
    kind: Kind,
    principal: Principal,
    asset_id: int,
    *,
    device_id: str | None = None,
    session_id: int | None = None,
    optimistic: bool = True,
) -> DownloadUrl:
    """A presigned GET for any size, with `/content`'s access rules and device bookkeeping."""
    record = asset_downloads.open_download(
        kind, principal, asset_id, device_id=device_id, session_id=session_id, optimistic=optimistic
    )
    presigned = storage.presigned_get(record.object_key, record.file_name)
    return DownloadUrl(
        url=presigned.url,
        expires_at=presigned.expires_at,
        file_size_bytes=record.file_size_bytes,
        content_hash=record.content_hash,
    )
