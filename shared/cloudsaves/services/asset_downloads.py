"""The bytes of saves, states and screenshots: inline when they fit a Lambda response, else presigned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cloudsaves import storage
from cloudsaves.errors import NotFound
from cloudsaves.http import Principal
from cloudsaves.models.assets import (
    AnyRecord,
    Kind,
)
from cloudsaves.services import asset_records
from cloudsaves.services.devices import resolve_device
from cloudsaves.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response


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
    record = asset_records.readable(kind, principal, asset_id)
    if device is not None and optimistic and record.user_id == principal.user_id:
        record = asset_records.record_sync(asset_records.assets_repository(kind), record, device)
    asset_records.count_session(kind, principal, session_id)
    return record


def download_screenshot(kind: Kind, principal: Principal, asset_id: int) -> Download:
    """The asset's screenshot, readable by whoever may read the asset (it follows the visibility)."""
    for _ in range(2):  # the screenshot may be replaced between reading the record and the object
        shot = asset_records.readable(kind, principal, asset_id).screenshot
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
        record = asset_records.readable(kind, principal, asset_id)
    raise NotFound(f"{kind.capitalize()} file not found")


def _download(file_name: str, object_key: str, size: int) -> Download | None:
    """Inline bytes when they fit a Lambda response, else a presigned URL; None when the object is gone."""
    if size > get_settings().max_inline_download_bytes:
        return Download(file_name, redirect_url=storage.presigned_get(object_key, file_name).url)
    data = asset_records.object_or_none(object_key)
    return Download(file_name, data=data) if data is not None else None
