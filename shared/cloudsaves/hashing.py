"""Save content hashes (RomM's `content_hash`) and MD5 format conversions for S3.

RomM's rule (backend/handler/filesystem/assets_handler.py, hash_zip_contents / hash_save_file): the MD5
hex of the bytes; for a zip, the MD5 of `"<name>:<md5 of member>"` lines for its non-directory members in
sorted name order, joined by `\\n` with no trailing newline, UTF-8 encoded.

Beyond RomM, an archive is hashed by its members only while it stays within MAX_ZIP_MEMBERS members and
MAX_ZIP_DECOMPRESSED_BYTES decompressed in total: a few KB of bzip2 can expand to gigabytes, and
hashing them would hold the function for seconds on every upload. Past either bound the hash is the
plain MD5 of the bytes, RomM's own fallback for an archive it cannot read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import zipfile
from typing import BinaryIO

# RomM's MAX_DECOMPRESSED_ENTRY_BYTES: a member's declared size is attacker-controlled, so cap what is read.
MAX_ENTRY_BYTES = 512 * 1024 * 1024
# Four times the largest memory card (16 MB), and about half a CPU second to hash even as bzip2
# (bench/zip_bomb.py); a 512 MB function has a third of a vCPU.
MAX_ZIP_DECOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_ZIP_MEMBERS = 1000
_CHUNK = 64 * 1024
_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def content_hash(data: bytes) -> str:
    """RomM's content hash of save bytes held in memory."""
    return content_hash_file(io.BytesIO(data))


def content_hash_file(fileobj: BinaryIO) -> str:
    """RomM's content hash of a seekable binary file, read in chunks; leaves the position at 0."""
    try:
        fileobj.seek(0)
        if zipfile.is_zipfile(fileobj) and (zip_hash := _zip_hash_or_none(fileobj)) is not None:
            return zip_hash
        fileobj.seek(0)
        digest = hashlib.md5(usedforsecurity=False)
        while chunk := fileobj.read(_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        fileobj.seek(0)


def _zip_hash_or_none(fileobj: BinaryIO) -> str | None:
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            return _zip_contents_hash(archive)
    except Exception:  # corrupt, encrypted, unsupported, a bomb: plain MD5 (RomM hash_save_file fallback)
        return None


class _ZipTooLarge(ValueError):
    """The archive is past a bound: hash its bytes instead of its members."""


def _zip_contents_hash(archive: zipfile.ZipFile) -> str:
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise _ZipTooLarge(f"zip has {len(members)} members, more than {MAX_ZIP_MEMBERS}")
    if sum(member.file_size for member in members) > MAX_ZIP_DECOMPRESSED_BYTES:
        raise _ZipTooLarge("zip declares more than its decompressed bound")  # honest bombs stop here
    remaining = MAX_ZIP_DECOMPRESSED_BYTES  # declared sizes may lie: count what is actually read
    lines = []
    for name in sorted(archive.namelist()):
        if not name.endswith("/"):
            member_md5, size = _member_md5(archive, name, limit=min(MAX_ENTRY_BYTES, remaining))
            remaining -= size
            lines.append(f"{name}:{member_md5}")
    return hashlib.md5("\n".join(lines).encode("utf-8"), usedforsecurity=False).hexdigest()


def _member_md5(archive: zipfile.ZipFile, name: str, *, limit: int) -> tuple[str, int]:
    """The member's MD5 and decompressed size; _ZipTooLarge as soon as it expands past `limit`."""
    digest = hashlib.md5(usedforsecurity=False)
    read = 0
    with archive.open(name) as member:
        while chunk := member.read(_CHUNK):
            read += len(chunk)
            if read > limit:
                raise _ZipTooLarge(f"zip member {name!r} expands past the bound")
            digest.update(chunk)
    return digest.hexdigest(), read


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_base64(data: bytes) -> str:
    """The `Content-MD5` header value for `data` (base64 of the 16-byte digest)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def base64_to_hex(content_md5: str) -> str:
    """`Content-MD5` (base64) -> lowercase hex. Raises ValueError unless it holds exactly 16 bytes."""
    try:
        raw = base64.b64decode(content_md5, validate=True)
    except binascii.Error:
        raise ValueError("Content-MD5 is not valid base64") from None
    if len(raw) != 16:
        raise ValueError("Content-MD5 does not hold a 16-byte MD5 digest")
    return raw.hex()


def hex_to_base64(md5_hex_digest: str) -> str:
    """Hex MD5 (an S3 single-part ETag, quoted or not) -> `Content-MD5` base64."""
    value = md5_hex_digest.strip().strip('"')
    if not _HEX_MD5.fullmatch(value):
        raise ValueError("Not a hex MD5 digest")
    return base64.b64encode(bytes.fromhex(value)).decode("ascii")


def etag_md5_hex(etag: str) -> str | None:
    """The MD5 hex an S3 ETag stands for, or None for a multipart (`"...-N"`) or otherwise opaque ETag."""
    value = etag.strip().removeprefix("W/").strip('"')
    return value.lower() if _HEX_MD5.fullmatch(value) else None
