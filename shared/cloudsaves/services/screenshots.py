"""Gallery screenshots (RomM's /api/screenshots): per user and ROM, private until shared, images only.

Bytes go to a fresh key per upload before the record points at them, and are deleted if the record
refuses them, so no record points at missing bytes and no upload overwrites another's bytes.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cloudsaves import storage
from cloudsaves.aws import table
from cloudsaves.clock import now_iso
from cloudsaves.errors import AppError, BadRequest, ConcurrentUpdate, Conflict, NotFound, PayloadTooLarge
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id
from cloudsaves.images import ALLOWED_IMAGE_EXTENSIONS, image_type
from cloudsaves.models.assets import ScreenshotSchema
from cloudsaves.models.screenshots import ScreenshotRecord
from cloudsaves.multipart import MultipartError, parse_form
from cloudsaves.repositories import keys
from cloudsaves.repositories.object_ledger import LedgerNote, Reference, retired_note
from cloudsaves.repositories.screenshots import ScreenshotsRepository
from cloudsaves.services import orphans
from cloudsaves.services.asset_forms import RequestBody, file_part, sanitized_name
from cloudsaves.settings import get_settings

SCREENSHOT_PART = "screenshotFile"
NOT_FOUND = "Screenshot not found"
_ATTEMPTS = 5
_FORM_OVERHEAD = 16 * 1024  # boundaries and part headers around the file


@dataclass(frozen=True)
class ScreenshotFile:
    file_name: str
    content_type: str
    data: bytes


def screenshots_repository() -> ScreenshotsRepository:
    return ScreenshotsRepository(table())


def read_screenshot(request: RequestBody) -> ScreenshotFile:
    """The multipart `screenshotFile` part, checked: size (413), a file name, an image by its bytes (400)."""
    limit = get_settings().max_screenshot_bytes
    raw = request.body or ""
    try:
        data = base64.b64decode(raw, validate=True) if request.is_base64_encoded else raw.encode()
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Malformed request body") from exc
    too_large = PayloadTooLarge(f"Screenshot file exceeds the maximum allowed size of {limit} bytes")
    if len(data) > limit + _FORM_OVERHEAD:
        raise too_large
    headers = request.headers or {}
    try:
        form = parse_form(data, headers.get("content-type") or headers.get("Content-Type") or "")
    except MultipartError as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from exc
    part = file_part(form, SCREENSHOT_PART, "screenshot", required=True)
    assert part is not None and part.filename is not None
    if len(part.data) > limit:
        raise too_large
    file_name = sanitized_name("screenshot", part.filename)
    if os.path.splitext(file_name)[1].lower() not in ALLOWED_IMAGE_EXTENSIONS:
        allowed = ", ".join(sorted(ALLOWED_IMAGE_EXTENSIONS))
        raise BadRequest(f"Unsupported image file type. Allowed: {allowed}")
    content_type = image_type(part.data)
    if content_type is None:
        raise BadRequest("Screenshot file is not an image (PNG, JPEG, GIF, WebP, BMP, TIFF or AVIF content)")
    return ScreenshotFile(file_name, content_type, part.data)


def upload_screenshot(principal: Principal, rom_id: int, upload: ScreenshotFile) -> ScreenshotSchema:
    """Store a gallery screenshot for the ROM; the same file name again replaces its bytes (RomM)."""
    from cloudsaves.services.roms import get_rom

    rom = get_rom(rom_id)
    repo = screenshots_repository()
    stored = orphans.put_new("screenshot", principal.user_id, upload.file_name, upload.data)
    try:
        for _ in range(_ATTEMPTS):
            now = now_iso()
            existing = repo.find_by_name(principal.user_id, rom.id, upload.file_name)
            shot = ScreenshotRecord(
                id=existing.id if existing else new_int_id(),
                user_id=principal.user_id,
                rom_id=rom.id,
                platform_fs_slug=rom.platform_fs_slug,
                file_name=upload.file_name,
                file_size_bytes=len(upload.data),
                content_type=upload.content_type,
                object_key=stored.object_key,
                is_public=existing.is_public if existing else False,
                created_at=existing.created_at if existing else now,
                updated_at=now,
            )
            retired = [_retired_note(existing)] if existing else []
            try:
                if existing:
                    repo.replace_file(existing, shot, orphans.commit_actions([stored], retired))
                else:
                    repo.create(shot, orphans.commit_actions([stored]))
            except ConcurrentUpdate:
                continue  # a concurrent upload of the same name, or an id collision: read again
            orphans.release(retired)
            return shot.to_schema()
        raise Conflict("The screenshot kept changing while being uploaded; try again")
    except AppError:
        orphans.discard([stored])  # never bytes without a record
        raise


@dataclass(frozen=True)
class ScreenshotContent:
    file_name: str
    content_type: str
    data: bytes


def screenshot_content(principal: Principal, screenshot_id: int) -> ScreenshotContent:
    """The owner reads any of theirs, anyone else only public ones; otherwise 404."""
    shot = screenshots_repository().get(screenshot_id)
    if shot is None or (shot.user_id != principal.user_id and not shot.is_public):
        raise NotFound(NOT_FOUND)
    from botocore.exceptions import ClientError

    try:
        data = storage.get_object(shot.object_key)
    except ClientError as exc:  # replaced or deleted between the two reads
        raise NotFound("Screenshot file not found") from exc
    return ScreenshotContent(shot.file_name, shot.content_type, data)


def share_screenshot(principal: Principal, screenshot_id: int, is_public: bool) -> ScreenshotSchema:
    shot = _owned(principal, screenshot_id)
    try:
        return screenshots_repository().set_public(shot, is_public, now_iso()).to_schema()
    except ConcurrentUpdate as exc:
        raise NotFound(NOT_FOUND) from exc


def delete_screenshot(principal: Principal, screenshot_id: int) -> None:
    shot = _owned(principal, screenshot_id)
    retired = [_retired_note(shot)]
    try:
        screenshots_repository().delete(shot, orphans.commit_actions([], retired))
    except ConcurrentUpdate as exc:
        raise NotFound(NOT_FOUND) from exc
    orphans.release(retired)


def _retired_note(shot: ScreenshotRecord) -> LedgerNote:
    reference = Reference(keys.screenshot_pk(shot.id), keys.PROFILE, "object_key")
    return retired_note(shot.object_key, reference, now_iso())


def _owned(principal: Principal, screenshot_id: int) -> ScreenshotRecord:
    shot = screenshots_repository().get(screenshot_id)
    if shot is None or shot.user_id != principal.user_id:
        raise NotFound(NOT_FOUND)  # another user's screenshot does not exist for the caller
    return shot
