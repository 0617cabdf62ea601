"""File names and storage path segments: sanitising, RomM's slot datetime tag, and RomM's name parts."""

from __future__ import annotations

import posixpath
import re
from datetime import UTC, datetime
from typing import NamedTuple

MAX_NAME_BYTES = 255  # the common filesystem limit for one path component

# Character rules from RomM backend/utils/filesystem.py (sanitize_filename), plus C1 controls.
_TO_HYPHEN = re.compile(r"[\\/:|]")
_TO_DROP = re.compile(r'[*?"<>]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SEPARATOR = re.compile(r"[\\/]")

# RomM backend/endpoints/saves.py: DATETIME_TAG_PATTERN / _apply_datetime_tag (leading space optional here).
_SLOT_TAG = re.compile(r" ?\[\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\]")
_SLOT_TAG_FORMAT = "%Y-%m-%d_%H-%M-%S"

# RomM backend/models/base.py: TAG_GROUP_REGEX / EXTENSION_REGEX (compute_file_name_parts).
_TAG_GROUPS = re.compile(r"(?:\s*(?:\([^)]*\)|\[[^]]*\]))+\s*$")
_EXTENSION = re.compile(r"\.(([a-z]+\.)*\w+)$")


class InvalidFileName(ValueError):
    """A client-supplied file name that cannot be stored."""


class InvalidPathSegment(ValueError):
    """An `emulator`/`slot` value that cannot be made into one safe storage path segment."""


class NameParts(NamedTuple):
    no_tags: str
    no_ext: str
    extension: str


def sanitize_file_name(raw: str) -> str:
    """The bare name to store: directories, control and filesystem-invalid characters removed.

    Raises InvalidFileName when nothing usable is left, or the result exceeds 255 UTF-8 bytes.
    """
    name = _clean(_SEPARATOR.split(raw)[-1])
    if not name or name in (".", ".."):
        raise InvalidFileName("File name is empty after sanitization")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidFileName(f"File name is longer than {MAX_NAME_BYTES} bytes")
    return name


def sanitize_segment(value: str) -> str:
    """One storage path segment: separators become `-`, never `.`/`..`, NUL or a control character.

    Raises InvalidPathSegment when nothing usable is left, or the result exceeds 255 UTF-8 bytes.
    """
    segment = _clean(value)
    if not segment or segment in (".", ".."):
        raise InvalidPathSegment(f"{value[:64]!r} is not a usable name")
    if len(segment.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidPathSegment(f"Name is longer than {MAX_NAME_BYTES} bytes")
    return segment


def _clean(value: str) -> str:
    value = _TO_HYPHEN.sub("-", value)
    value = _TO_DROP.sub("", value)
    value = _CONTROL.sub("", value).strip()
    while value.endswith("."):  # Windows drops trailing dots (and spaces), so names would collide
        value = value.rstrip(".").rstrip()
    return value


def apply_slot_tag(file_name: str, when: datetime) -> str:
    """`name [YYYY-MM-DD_HH-MM-SS].ext` in UTC, replacing any tag already in the name (RomM's rule).

    Raises ValueError for a naive `when`, and InvalidFileName if the tagged name is too long.
    """
    if when.tzinfo is None:
        raise ValueError("apply_slot_tag needs a timezone-aware datetime")
    name, ext = posixpath.splitext(file_name)
    tagged = f"{_SLOT_TAG.sub('', name)} [{when.astimezone(UTC).strftime(_SLOT_TAG_FORMAT)}]{ext}"
    if len(tagged.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidFileName(f"File name is longer than {MAX_NAME_BYTES} bytes once tagged")
    return tagged


def split_name(file_name: str) -> NameParts:
    """RomM's `file_name_no_tags`, `file_name_no_ext` and `file_extension` for a stored file name."""
    no_ext = _EXTENSION.sub("", file_name).strip()
    match = _EXTENSION.search(file_name)
    return NameParts(
        no_tags=_TAG_GROUPS.sub("", no_ext).strip(),
        no_ext=no_ext,
        extension=match.group(1) if match else "",
    )


# --- RetroArch's names (the Cloud Sync door) ------------------------------------------------------


def fs_name_stem(fs_name: str) -> str:
    """The name RetroArch gives a ROM's saves: its file name without the last extension."""
    stem, dot, _ = fs_name.rpartition(".")
    return stem if dot and stem else fs_name


def fold(text: str) -> str:
    """ASCII-only lower case: RetroArch compares paths with strcasecmp, which folds nothing else."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
