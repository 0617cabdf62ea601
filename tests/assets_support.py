"""Helpers for the save/state tests: multipart bodies as RomM clients send them, and zip files."""

from __future__ import annotations

import io
import uuid
import zipfile


def multipart(
    files: dict[str, tuple[str | None, bytes]], fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """(body, content type) for form parts: `files` name -> (filename, bytes), `fields` name -> text."""
    boundary = f"----cloudsaves{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for name, value in (fields or {}).items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, (filename, data) in files.items():
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        head = (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        chunks.append(head.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def zip_bytes(members: dict[str, bytes], *, reverse: bool = False) -> bytes:
    """A zip holding `members` (written in reverse name order when asked: the hash must not care)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("folder/", b"")
        for name in sorted(members, reverse=reverse):
            archive.writestr(name, members[name])
    return buffer.getvalue()
