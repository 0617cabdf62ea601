"""S3 access for save, state and screenshot bytes.

Object keys are built here, never taken from a client: `users/<user_id>/<saves|states|screenshots>/
<random>/<sanitised file name>`. The random segment makes every stored version's key unique, so no
upload can overwrite another's bytes; the bucket is versioned, so deleting a key keeps its bytes as a
noncurrent version for the retention period.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from cloudsaves.aws import s3_client
from cloudsaves.clock import utcnow
from cloudsaves.hashing import md5_base64
from cloudsaves.observability import logger
from cloudsaves.settings import get_settings

_DELETE_BATCH = 1000  # DeleteObjects' limit
_FOLDERS = {"save": "saves", "state": "states", "screenshot": "screenshots", "file": "cloud-sync"}


@dataclass(frozen=True)
class PresignedGet:
    url: str
    expires_at: datetime


def bucket() -> str:
    return get_settings().bucket_name


def new_object_key(kind: str, user_id: int, file_name: str) -> str:
    """A fresh key for one stored version of a save, state, screenshot or plain RetroArch file
    (`kind` = save|state|screenshot|file)."""
    return f"users/{user_id}/{_FOLDERS[kind]}/{uuid.uuid4().hex}/{file_name}"


def asset_folder(
    kind: str, user_id: int, platform_fs_slug: str, rom_id: int, emulator_segment: str | None
) -> str:
    """RomM's `file_path` (`users/<user>/saves/<platform_fs_slug>/<rom_id>/<emulator>`), shown to clients."""
    folder = f"users/{user_id}/{_FOLDERS[kind]}/{platform_fs_slug}/{rom_id}"
    return f"{folder}/{emulator_segment}" if emulator_segment else folder


def content_disposition(file_name: str) -> str:
    """`attachment` naming the file (RFC 6266: an ASCII fallback plus the exact UTF-8 name)."""
    ascii_name = file_name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def put_object(key: str, data: bytes) -> None:
    """Store `data` at `key`; S3 checks the bytes against their MD5 on arrival."""
    s3_client().put_object(
        Bucket=bucket(),
        Key=key,
        Body=data,
        ContentMD5=md5_base64(data),
        ContentType="application/octet-stream",
    )


def get_object(key: str) -> bytes:
    response = s3_client().get_object(Bucket=bucket(), Key=key)
    return bytes(response["Body"].read())


def delete_objects(keys: Iterable[str | None]) -> set[str]:
    """Delete the current version of each key (best effort: a failure is logged, never raised).

    Called after the metadata no longer points at the bytes; the versioned bucket keeps them as
    noncurrent versions for the retention period. Returns the keys deleted (the orphan-check ledger
    keeps its notes about the others, so the sweep tries again).
    """
    wanted = sorted({key for key in keys if key})
    deleted: set[str] = set()
    client: Any = s3_client()
    for start in range(0, len(wanted), _DELETE_BATCH):
        batch = wanted[start : start + _DELETE_BATCH]
        try:
            response = client.delete_objects(
                Bucket=bucket(), Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
        except Exception:
            logger.exception("Could not delete objects", extra={"keys": batch})
            continue
        failed = {error.get("Key") for error in response.get("Errors", [])}
        if failed:
            logger.warning("Some objects were not deleted", extra={"errors": response["Errors"]})
        deleted.update(key for key in batch if key not in failed)
    return deleted


def presigned_get(key: str, file_name: str, ttl_seconds: int | None = None) -> PresignedGet:
    """A short-lived GET URL for `key` that downloads as `file_name`."""
    ttl = ttl_seconds or get_settings().presigned_url_ttl_seconds
    url = s3_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket(), "Key": key, "ResponseContentDisposition": content_disposition(file_name)},
        ExpiresIn=ttl,
    )
    return PresignedGet(url=url, expires_at=utcnow() + timedelta(seconds=ttl))


# --- direct transfers (API.md section 7) ---------------------------------------------------------

STAGING_PREFIX = "staging/"  # template.yaml's lifecycle rule expires what stays under it after a day
_STREAM_CHUNK = 1024 * 1024
_SINGLE_COPY_MAX_BYTES = 1024**3
_COPY_PART_BYTES = 64 * 1024 * 1024


def staging_key(user_id: int, upload_id: str, part: str) -> str:
    """Where a direct upload's bytes wait for complete (`part`: "file" or "screenshot")."""
    return f"{STAGING_PREFIX}{user_id}/{upload_id}/{part}"


def presigned_put(key: str, size: int, content_md5: str, ttl_seconds: int) -> tuple[str, dict[str, str]]:
    """A PUT URL for exactly `size` bytes whose MD5 is `content_md5`, and the headers to send with it.

    Content-Length and Content-MD5 are signed: S3 refuses any other size, and any other bytes.
    """
    url = s3_client().generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket(), "Key": key, "ContentLength": size, "ContentMD5": content_md5},
        ExpiresIn=ttl_seconds,
        HttpMethod="PUT",
    )
    return url, {"Content-Length": str(size), "Content-MD5": content_md5}


@dataclass(frozen=True)
class StagedObject:
    size: int
    version_id: str | None  # None in an unversioned bucket


def head_staged(key: str) -> StagedObject | None:
    """Size and version of what is at `key` now, or None when nothing is."""
    from botocore.exceptions import ClientError

    try:
        response = s3_client().head_object(Bucket=bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return StagedObject(size=int(response["ContentLength"]), version_id=response.get("VersionId"))


def iter_object(key: str, version_id: str | None = None) -> Iterator[bytes]:
    """The object's bytes (that version's) in 1 MB chunks: never the whole object in memory."""
    pinned = {"VersionId": version_id} if version_id else {}
    body = s3_client().get_object(Bucket=bucket(), Key=key, **pinned)["Body"]
    yield from body.iter_chunks(_STREAM_CHUNK)


def copy_staged(source_key: str, dest_key: str, staged: StagedObject) -> None:
    """Server-side copy of exactly that staged version: one CopyObject up to 1 GB (the fastest there, on
    S3 and moto alike), a managed parallel multipart copy above."""
    from boto3.s3.transfer import TransferConfig

    source = {"Bucket": bucket(), "Key": source_key}
    if staged.version_id:
        source["VersionId"] = staged.version_id
    if staged.size <= _SINGLE_COPY_MAX_BYTES:
        s3_client().copy_object(CopySource=source, Bucket=bucket(), Key=dest_key)
        return
    config = TransferConfig(multipart_chunksize=_COPY_PART_BYTES)
    s3_client().copy(source, bucket(), dest_key, Config=config)


def purge_staged(key: str) -> None:
    """Delete every version of a staged upload, so nothing of it stays recoverable."""
    if not key.startswith(STAGING_PREFIX):
        raise ValueError(f"{key!r} is not a staging key")
    purge_object(key)


def purge_object(key: str) -> bool:
    """Delete every version (and delete marker) of exactly `key`: bytes no record ever pointed at.
    False when S3 refused some of them (DeleteObjects answers those in `Errors`, not with an error)."""
    client: Any = s3_client()
    refused = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket(), Prefix=key):
        versions = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if entry["Key"] == key
        ]
        if versions:
            response = client.delete_objects(Bucket=bucket(), Delete={"Objects": versions, "Quiet": True})
            refused.extend(response.get("Errors", []))
    if refused:
        logger.warning("Some object versions were not deleted", extra={"errors": refused})
    return not refused
