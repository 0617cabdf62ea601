"""The RetroArch Cloud Sync door's protocol rules: paths, the save/state mapping and `manifest.server`.

Pure functions (no AWS): what RetroArch 1.20 sends is recorded in ../shared/tools/retroarch/README.md.
- Paths arrive percent-encoded byte by byte; they are decoded once, and `..`, `.`, empty segments,
  absolute paths, backslashes and control characters are refused.
- `saves/<core>/<stem>.srm` is the `autosave` slot of the ROM whose fs_name stem is `<stem>`;
  `states/<core>/<stem>.state`, `.state<N>` and `.state.auto` are states of that ROM.
- `manifest.server` is `[{"path", "hash"}]`: lowercase MD5, "" for a tombstone, sorted by strcasecmp,
  2-space indent and a trailing newline, and no other string member (RetroArch would take it as the hash).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from cloudsaves.errors import BadRequest
from cloudsaves.filenames import fold
from cloudsaves.models.assets import Kind

DOOR_PREFIX = "/api/cloud-sync/"
MANIFEST = "manifest.server"
SAVE_SLOT = "autosave"
MAX_PATH_BYTES = 1024
MAX_SEGMENT_BYTES = 255
MAX_MANIFEST_ENTRIES = 100_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATE_SUFFIX = re.compile(r"\.state(\d+|\.auto)?$", re.IGNORECASE)
_SAVE_SUFFIX = re.compile(r"\.srm$", re.IGNORECASE)
_MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class MappedPath:
    """A door path that names a save or state of a ROM (if a ROM has that stem)."""

    kind: Kind
    core: str
    stem: str
    file_name: str  # the file's own name: `<stem>.srm`, `<stem>.state3`...


def door_path(raw_path: str) -> str:
    """The path below `/api/cloud-sync/`, decoded once ("" for the door itself); 400 when hostile."""
    try:
        decoded = unquote(raw_path, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("Path is not valid UTF-8") from exc
    if decoded.rstrip("/") == DOOR_PREFIX.rstrip("/"):
        return ""
    if not decoded.startswith(DOOR_PREFIX):
        raise BadRequest("Path is outside /api/cloud-sync/")
    return relative_path(decoded[len(DOOR_PREFIX) :])


def relative_path(path: str) -> str:
    """A validated relative path (a trailing slash, as on a collection, is dropped)."""
    if path.endswith("/"):
        path = path[:-1]
    if not path or path.startswith("/"):
        raise BadRequest("Absolute or empty paths are not allowed")
    if _CONTROL.search(path) or "\\" in path:
        raise BadRequest("Control characters and backslashes are not allowed in paths")
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise BadRequest(f"Path is longer than {MAX_PATH_BYTES} bytes")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise BadRequest("Empty, '.' and '..' path segments are not allowed")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise BadRequest(f"A path segment is longer than {MAX_SEGMENT_BYTES} bytes")
    return path


def destination_path(header: str | None) -> str:
    """MOVE's `Destination` (an absolute URL, or a path) as a door path; 400 when missing or elsewhere."""
    if not header or not header.strip():
        raise BadRequest("MOVE needs a Destination header")
    try:
        parts = urlsplit(header.strip())
    except ValueError as exc:
        raise BadRequest("Malformed Destination header") from exc
    if parts.scheme not in ("", "http", "https") or parts.query or parts.fragment:
        raise BadRequest("Malformed Destination header")
    path = door_path(parts.path)
    if not path:
        raise BadRequest("Destination must name a file")
    return path


def mapped_path(path: str) -> MappedPath | None:
    """The save or state a path would name (`saves/<core>/<stem>.srm`, `states/<core>/<stem>.state*`)."""
    segments = path.split("/")
    if len(segments) != 3:
        return None
    top, core, file_name = segments
    if fold(top) == "saves" and (match := _SAVE_SUFFIX.search(file_name)):
        return _mapped("save", core, file_name, match.start())
    if fold(top) == "states" and (match := _STATE_SUFFIX.search(file_name)):
        return _mapped("state", core, file_name, match.start())
    return None


def _mapped(kind: Kind, core: str, file_name: str, stem_end: int) -> MappedPath | None:
    stem = file_name[:stem_end]
    return MappedPath(kind, core, stem, file_name) if stem else None


def is_state_name(file_name: str) -> bool:
    return _STATE_SUFFIX.search(file_name) is not None


def save_path(core: str | None, stem: str) -> str:
    """Where RetroArch keeps the save of the ROM with that stem for that core."""
    return f"saves/{_segment(core)}/{stem}.srm" if core else f"saves/{stem}.srm"


def state_path(core: str | None, file_name: str) -> str:
    return f"states/{_segment(core)}/{file_name}" if core else f"states/{file_name}"


def _segment(core: str) -> str:
    return core.replace("/", "-").replace("\\", "-")


def render_manifest(rows: Iterable[tuple[str, str]]) -> bytes:
    """`manifest.server` as RetroArch writes it, from (path, md5 or "") rows."""
    ordered = sorted(rows, key=lambda row: fold(row[0]).encode("utf-8"))
    if not ordered:
        return b"[\n\n]\n"  # RetroArch's own spelling of an empty manifest
    document = [{"path": path, "hash": md5} for path, md5 in ordered]
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def parse_manifest(body: bytes) -> dict[str, str]:
    """A client's `manifest.server`: {folded path: md5 or ""}; 400 for anything RetroArch never writes."""
    try:
        document: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("Malformed manifest: not JSON") from exc
    if not isinstance(document, list) or len(document) > MAX_MANIFEST_ENTRIES:
        raise BadRequest("Malformed manifest: expected a JSON array of {path, hash} objects")
    entries: dict[str, str] = {}
    for entry in document:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise BadRequest("Malformed manifest: every entry needs a string path")
        digest = entry.get("hash") or ""
        if not isinstance(digest, str) or (digest and not _MD5.fullmatch(digest)):
            raise BadRequest("Malformed manifest: hash must be a lowercase MD5 or empty")
        entries[fold(relative_path(entry["path"]))] = digest
    return entries
