"""Reading an upload request: the multipart body, its file parts, and names made safe (4xx otherwise)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Protocol

from cloudsaves.errors import BadRequest, PayloadTooLarge
from cloudsaves.filenames import InvalidFileName, InvalidPathSegment, sanitize_file_name, sanitize_segment
from cloudsaves.models.assets import Kind
from cloudsaves.multipart import FormPart, MultipartError, parse_form
from cloudsaves.settings import get_settings

FILE_PART = {"save": "saveFile", "state": "stateFile"}
SCREENSHOT_PART = "screenshotFile"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RequestBody(Protocol):
    """What the service needs of an API Gateway event to read a multipart body (Powertools' event fits)."""

    @property
    def body(self) -> str | None: ...

    @property
    def is_base64_encoded(self) -> bool | None: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def read_form(kind: Kind, request: RequestBody, *, required: bool) -> dict[str, list[FormPart]]:
    """The multipart form of the request: 413 above the inline limit, 400 when malformed.

    An empty body is an empty form when not `required` (a PUT may carry nothing).
    """
    raw = request.body or ""
    try:
        data = base64.b64decode(raw, validate=True) if request.is_base64_encoded else raw.encode()
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Malformed request body") from exc
    limit = get_settings().max_inline_upload_bytes
    if len(data) > limit:
        raise PayloadTooLarge(
            f"Request body is larger than {limit} bytes. Upload large files with the direct-upload flow: "
            f"POST /api/{kind}s/uploads, PUT the bytes to the URL it returns, then POST "
            f"/api/{kind}s/uploads/{{upload_id}}/complete"
        )
    if not data and not required:
        return {}
    headers = request.headers or {}
    content_type = headers.get("content-type") or headers.get("Content-Type") or ""
    try:
        return parse_form(data, content_type)
    except MultipartError as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from exc


def file_part(form: dict[str, list[FormPart]], name: str, noun: str, *, required: bool) -> FormPart | None:
    """The one file part called `name` (RomM's messages when missing); an empty file is a 400."""
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
        return None  # RomM ignores an optional part without a file name
    if not part.data:
        raise BadRequest(f"{noun.capitalize()} file is empty")
    return part


def screenshot_of(form: dict[str, list[FormPart]]) -> tuple[str, bytes] | None:
    """(sanitised name, bytes) of the optional screenshotFile part."""
    part = file_part(form, SCREENSHOT_PART, "screenshot", required=False)
    if part is None or part.filename is None:
        return None
    return sanitized_name("screenshot", part.filename), part.data


def sanitized_name(noun: str, raw: str) -> str:
    """The file name to store (cloudsaves.filenames), or 400 naming what was wrong."""
    try:
        return sanitize_file_name(raw)
    except InvalidFileName as exc:
        raise BadRequest(f"Invalid {noun} filename: {exc}") from exc


def name_segment(label: str, value: str | None) -> str | None:
    """`emulator`/`slot` are names: one safe path segment, never a control character (else 400)."""
    if value is None:
        return None
    if _CONTROL.search(value):
        raise BadRequest(f"Invalid {label}: control characters are not allowed")
    try:
        return sanitize_segment(value)
    except InvalidPathSegment as exc:
        raise BadRequest(f"Invalid {label}: {exc}") from exc
