"""Local file work: RomM's content hash, and replacing a file safely (temp file, rename, backup)."""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cloudsaves_client.errors import DiskError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Digest:
    """What the server knows a file by: RomM's `content_hash`, the MD5 S3 checks, and the size."""

    content_hash: str
    md5_base64: str
    size: int


def digest(path: Path) -> Digest:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            md5.update(chunk)
            size += len(chunk)
        content_hash = _zip_hash(handle) or md5.hexdigest()
    return Digest(content_hash, base64.b64encode(md5.digest()).decode("ascii"), size)


def _zip_hash(handle: BinaryIO) -> str | None:
    """RomM's hash of a zip: MD5 of `"<member>:<md5>"` lines of its files in name order (else None)."""
    handle.seek(0)
    if not zipfile.is_zipfile(handle):
        return None
    try:
        with zipfile.ZipFile(handle) as archive:
            lines = []
            for name in sorted(n for n in archive.namelist() if not n.endswith("/")):
                member = hashlib.md5(usedforsecurity=False)
                with archive.open(name) as data:
                    while chunk := data.read(CHUNK):
                        member.update(chunk)
                lines.append(f"{name}:{member.hexdigest()}")
    except Exception:  # corrupt or unsupported: RomM falls back to the plain MD5
        return None
    return hashlib.md5("\n".join(lines).encode("utf-8"), usedforsecurity=False).hexdigest()


def mtime_iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()


def set_mtime(path: Path, iso: str | None) -> None:
    """Give a downloaded file the server's `updated_at`, so the next negotiate sees equal timestamps."""
    if iso:
        with contextlib.suppress(ValueError, OSError):
            stamp = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
            os.utime(path, (stamp, stamp))


def backup_path(root: Path, rel: str, when: datetime) -> Path:
    return root / ".cloudsaves" / "backups" / f"{rel}.{when.strftime('%Y%m%dT%H%M%S')}"


def replace_file(new: Path, target: Path, backup: Path | None) -> Path | None:
    """Move verified bytes at `new` over `target` atomically. The file replaced is first linked (or
    copied) to `backup`, so at no moment is `target` missing and the old bytes always survive.
    Returns the backup made, if any."""
    made = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if backup is not None and target.exists():
            backup.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(target, backup)
            except OSError:
                shutil.copy2(target, backup)
            made = backup
        os.replace(new, target)
    except OSError as error:
        raise disk_error(error, target) from error
    return made


def move_to_backup(target: Path, backup: Path) -> None:
    """A local delete the server asked for: the file goes to the backups, never away."""
    try:
        backup.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, backup)
    except OSError as error:
        raise disk_error(error, target) from error


def disk_error(error: OSError, path: Path) -> DiskError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskError(f"the disk is full writing {path}", "free some space, then run the sync again")
    return DiskError(f"cannot write {path}: {error.strerror or error}", "check the folder's permissions")
