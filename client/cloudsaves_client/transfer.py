"""Moving bytes directly between this device and S3 through presigned URLs (API.md section 7).

Uploads: reserve (the server's conflict guard answers 409 before a byte moves), PUT exactly the signed
size and MD5, complete (the server re-checks both). Downloads stream to a `.part` file in the synced
folder; after a network failure they resume where they stopped (`Range`), in this run or the next one;
the bytes replace the local file only once their size and hash are the ones the server announced.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import requests

from cloudsaves_client.api import Api
from cloudsaves_client.errors import ClientError, IntegrityError, Offline, ServerError
from cloudsaves_client.files import CHUNK, Digest, digest, disk_error
from cloudsaves_client.progress import FileProgress

ATTEMPTS = 4
NETWORK_CHUNK = 64 * 1024  # what a dropped connection can lose of a download (it resumes after it)
_BUSY = (500, 502, 503, 504)  # S3's InternalError / SlowDown: try again
STORAGE_TIMEOUT = (10, 60)
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.RetryError,
)


def _pause(attempt: int) -> None:
    time.sleep(min(0.5 * 2**attempt, 8))


class _Reader:
    """A file read in chunks by requests, reporting each chunk; `len()` makes it send Content-Length."""

    def __init__(self, handle: BinaryIO, size: int, progress: FileProgress) -> None:
        self.handle, self.size, self.progress, self.sent = handle, size, progress, 0

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        chunk = self.handle.read(CHUNK if amount is None or amount < 0 else amount)
        self.sent += len(chunk)
        self.progress.update(self.sent)
        return chunk


def upload(
    api: Api,
    storage: requests.Session,
    kind: str,
    body: dict[str, Any],
    path: Path,
    file_digest: Digest,
    progress: FileProgress,
) -> dict[str, Any]:
    """Reserve, PUT, complete; the server's record. An ApiError 409 means a conflict (nothing moved)."""
    reservation = api.reserve_upload(kind, body)
    presigned = reservation[kind]
    for attempt in range(ATTEMPTS):
        try:
            with path.open("rb") as handle:
                sent = storage.request(
                    presigned.get("method", "PUT"),
                    presigned["url"],
                    data=_Reader(handle, file_digest.size, progress),
                    headers=presigned["headers"],
                    timeout=STORAGE_TIMEOUT,
                )
        except _NETWORK_ERRORS as error:
            progress.update(0)
            if attempt == ATTEMPTS - 1:
                raise Offline(
                    f"the upload of {path.name} kept failing ({error})", "run the sync again"
                ) from error
            _pause(attempt)
            continue
        if sent.status_code in (200, 204):
            break
        if sent.status_code in _BUSY and attempt < ATTEMPTS - 1:
            _pause(attempt)
            continue
        if sent.status_code == 400 and "BadDigest" in sent.text:
            raise ClientError(f"{path.name} changed while it was uploading", "it is sent on the next sync")
        raise ServerError(
            f"the storage refused the upload of {path.name} ({sent.status_code}: {sent.text[:200]})"
        )
    return api.complete_upload(kind, str(reservation["upload_id"]))


def download(
    storage: requests.Session,
    url_for: Callable[[bool], str],
    part: Path,
    size: int,
    content_hash: str | None,
    progress: FileProgress,
) -> None:
    """Fill `part` with the file behind the URL (`url_for(refresh)`), resuming what `part` already
    holds, then check size and hash. IntegrityError (and `part` removed) when they do not match."""
    part.parent.mkdir(parents=True, exist_ok=True)
    refresh = False
    for attempt in range(ATTEMPTS):
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        progress.update(have)
        if have == size:
            break
        try:
            have = _fetch(storage, url_for(refresh), part, have, progress)
        except _ExpiredLink:
            refresh = True
            continue
        except _Busy:
            _pause(attempt)
            continue
        except _NETWORK_ERRORS as error:
            if attempt == ATTEMPTS - 1:
                raise Offline(
                    f"the download of {part.name} kept failing ({error})", "run the sync again: it resumes"
                ) from error
            _pause(attempt)
            continue
        if have >= size:
            break
    _verify(part, size, content_hash)


class _ExpiredLink(Exception):
    pass


class _Busy(Exception):
    pass


def _fetch(storage: requests.Session, url: str, part: Path, have: int, progress: FileProgress) -> int:
    headers = {"Range": f"bytes={have}-"} if have else {}
    with storage.get(url, headers=headers, stream=True, timeout=STORAGE_TIMEOUT) as response:
        if response.status_code == 403:
            raise _ExpiredLink()
        if response.status_code in _BUSY:
            raise _Busy()
        if response.status_code == 200:
            have = 0  # the storage ignored the range: start over
        elif response.status_code != 206:
            raise ServerError(f"the storage answered {response.status_code} for {part.name}")
        with _writable(part, "ab" if have else "wb") as out:
            for chunk in response.iter_content(NETWORK_CHUNK):  # network errors (OSErrors too) pass up
                _write(out, chunk, part)
                have += len(chunk)
                progress.update(have)
    return have


def _writable(part: Path, mode: str) -> BinaryIO:
    try:
        return part.open(mode)  # type: ignore[return-value]
    except OSError as error:
        raise disk_error(error, part) from error


def _write(out: BinaryIO, chunk: bytes, part: Path) -> None:
    try:
        out.write(chunk)
    except OSError as error:
        raise disk_error(error, part) from error


def _verify(part: Path, size: int, content_hash: str | None) -> None:
    got = digest(part)
    if got.size != size or (content_hash and got.content_hash != content_hash):
        with contextlib.suppress(OSError):
            part.unlink()
        raise IntegrityError(
            f"{part.name}: got {got.size} bytes with hash {got.content_hash}, the server announced "
            f"{size} bytes with hash {content_hash}; nothing was replaced",
            "run the sync again",
        )
