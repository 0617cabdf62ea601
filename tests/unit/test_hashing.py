from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile

import pytest

from cloudsaves import hashing
from cloudsaves.hashing import (
    base64_to_hex,
    content_hash,
    content_hash_file,
    etag_md5_hex,
    hex_to_base64,
    md5_base64,
    md5_hex,
)

EMPTY_MD5_HEX = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_MD5_BASE64 = "1B2M2Y8AsgTpgAmY7PhCfg=="


def make_zip(entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def expected_zip_hash(entries: list[tuple[str, bytes]]) -> str:
    """RomM's rule, computed from what was written rather than read back through zipfile."""
    lines = [
        f"{name}:{hashlib.md5(data).hexdigest()}" for name, data in sorted(entries) if not name.endswith("/")
    ]
    return hashlib.md5("\n".join(lines).encode("utf-8")).hexdigest()


class CountingReader(io.BytesIO):
    """Records the largest single read, to show a file is hashed in chunks."""

    largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


@pytest.mark.parametrize("data", [b"", b"\x00" * 10, b"raw save data \x00\x01\xff", os.urandom(200_000)])
def test_content_hash_of_plain_bytes_is_their_md5(data: bytes):
    assert content_hash(data) == hashlib.md5(data).hexdigest()


def test_content_hash_of_empty_bytes():
    assert content_hash(b"") == EMPTY_MD5_HEX


def test_content_hash_of_zip_hashes_members_in_sorted_order():
    entries = [("z.bin", b"last"), ("a/b.txt", b"alpha"), ("dir/", b""), ("M.SAV", os.urandom(5000))]
    data = make_zip(entries)

    result = content_hash(data)

    assert result == expected_zip_hash(entries)
    assert result != hashlib.md5(data).hexdigest()


def test_content_hash_of_zip_has_no_trailing_newline():
    data = make_zip([("save.bin", b"x")])
    line = f"save.bin:{hashlib.md5(b'x').hexdigest()}"

    assert content_hash(data) == hashlib.md5(line.encode()).hexdigest()
    assert content_hash(data) != hashlib.md5((line + "\n").encode()).hexdigest()


def test_content_hash_of_zip_ignores_compression_and_entry_order():
    entries = [("card/a.bin", b"alpha bytes" * 64), ("card/b.bin", b"\x00\x01\x02\x03" * 64)]
    stored = make_zip(entries, zipfile.ZIP_STORED)
    deflated = make_zip(list(reversed(entries)), zipfile.ZIP_DEFLATED)

    assert stored != deflated
    assert content_hash(stored) == content_hash(deflated)


def test_content_hash_of_zip_with_only_directories_is_md5_of_empty_text():
    assert content_hash(make_zip([("dir/", b""), ("dir/sub/", b"")])) == EMPTY_MD5_HEX


# Pinned digests from RomM backend/tests/handler/filesystem/test_assets_handler.py (TestComputeContentHash),
# the zips rebuilt here exactly as RomM's tests write them (ZIP_STORED, same names and bytes).
SWITCH_TITLE = "0100F2C0115B6000"


@pytest.mark.parametrize(
    ("entries", "pinned"),
    [
        ([("save.bin", b"\x42" * 256)], "b3636b49ca5c3d807adee33e75d410ca"),
        (
            [("inner/a.txt", b"alpha"), ("inner/b.txt", b"beta"), ("top.bin", b"\x00\x01\x02")],
            "8cf6bb36a82a5ee4d7d15fc98599908d",
        ),
        (
            [
                (f"{SWITCH_TITLE}/NX6400000-SYSTEM/SYDAT.BIN", b"system data v1"),
                (f"{SWITCH_TITLE}/album/000_Photo.jpg", b"\xff\xd8\xff\xe0jpegdata" * 8),
                (f"{SWITCH_TITLE}/album/000_Thumb.jpg", b"\xff\xd8thumbdata"),
                (f"{SWITCH_TITLE}/slot_01/caption.sav", b"slot1 caption"),
                (f"{SWITCH_TITLE}/slot_01/progress.sav", b"\x01" * 64),
                (f"{SWITCH_TITLE}/slot_02/caption.sav", b"slot2 caption"),
                (f"{SWITCH_TITLE}/slot_02/progress.sav", b"\x02" * 64),
                (f"{SWITCH_TITLE}/storage/CacheStorageKey.dat", b"key=abcd1234"),
                (f"{SWITCH_TITLE}/storage/empty.dat", b""),
                (f"{SWITCH_TITLE}/Pokémon.dat", b"unicode-name"),
            ],
            "c0c992d1f1f883f56065bb13b68dfdee",
        ),
    ],
    ids=["single-entry", "mixed", "nested-switch-shape"],
)
def test_content_hash_matches_romm_pinned_digests(entries: list[tuple[str, bytes]], pinned: str):
    assert content_hash(make_zip(entries)) == pinned


def test_content_hash_of_corrupt_zip_falls_back_to_plain_md5():
    data = bytearray(make_zip([("save.bin", b"A" * 64)]))
    data[data.index(b"A" * 64)] = ord("B")  # the member's CRC no longer matches
    corrupt = bytes(data)
    assert zipfile.is_zipfile(io.BytesIO(corrupt))

    assert content_hash(corrupt) == hashlib.md5(corrupt).hexdigest()


def test_content_hash_of_oversized_member_falls_back_to_plain_md5(monkeypatch: pytest.MonkeyPatch):
    data = make_zip([("save.bin", b"0123456789")])
    monkeypatch.setattr(hashing, "MAX_ENTRY_BYTES", 8)

    assert content_hash(data) == hashlib.md5(data).hexdigest()


def test_content_hash_of_truncated_zip_is_plain_md5():
    data = make_zip([("save.bin", b"x" * 100)])[:-30]

    assert content_hash(data) == hashlib.md5(data).hexdigest()


def test_content_hash_file_agrees_with_content_hash_on_a_tempfile():
    entries = [("a.sav", os.urandom(300_000)), ("b/c.sav", b"c")]
    data = make_zip(entries, zipfile.ZIP_DEFLATED)
    with tempfile.TemporaryFile() as handle:
        handle.write(data)

        result = content_hash_file(handle)

        assert result == content_hash(data) == expected_zip_hash(entries)
        assert handle.tell() == 0


def test_content_hash_file_hashes_from_the_start_whatever_the_position():
    handle = io.BytesIO(b"raw save bytes")
    handle.seek(5)

    assert content_hash_file(handle) == hashlib.md5(b"raw save bytes").hexdigest()
    assert handle.tell() == 0


@pytest.mark.parametrize(
    "data",
    [os.urandom(1024 * 1024), make_zip([("big.sav", os.urandom(1024 * 1024))])],
    ids=["plain", "zip"],
)
def test_content_hash_file_reads_in_chunks(data: bytes):
    reader = CountingReader(data)

    content_hash_file(reader)

    assert 0 < reader.largest_read < 256 * 1024


def test_md5_hex_and_base64_of_known_value():
    assert md5_hex(b"") == EMPTY_MD5_HEX
    assert md5_base64(b"") == EMPTY_MD5_BASE64


def test_base64_and_hex_convert_both_ways():
    data = os.urandom(100)

    assert base64_to_hex(md5_base64(data)) == md5_hex(data)
    assert hex_to_base64(md5_hex(data)) == md5_base64(data)
    assert base64_to_hex(EMPTY_MD5_BASE64) == EMPTY_MD5_HEX


def test_hex_to_base64_accepts_a_quoted_s3_etag():
    assert hex_to_base64(f'"{EMPTY_MD5_HEX.upper()}"') == EMPTY_MD5_BASE64


@pytest.mark.parametrize("value", ["not base64!", "AAAA", md5_base64(b"x") + "AAAA", ""])
def test_base64_to_hex_rejects_what_is_not_a_16_byte_digest(value: str):
    with pytest.raises(ValueError):
        base64_to_hex(value)


@pytest.mark.parametrize(
    "value", ["", "xyz", EMPTY_MD5_HEX[:-1], EMPTY_MD5_HEX + "00", f'"{EMPTY_MD5_HEX}-2"']
)
def test_hex_to_base64_rejects_what_is_not_a_hex_md5(value: str):
    with pytest.raises(ValueError):
        hex_to_base64(value)


@pytest.mark.parametrize(
    ("etag", "expected"),
    [
        (f'"{EMPTY_MD5_HEX}"', EMPTY_MD5_HEX),
        (EMPTY_MD5_HEX.upper(), EMPTY_MD5_HEX),
        (f'W/"{EMPTY_MD5_HEX}"', EMPTY_MD5_HEX),
        ('"9b2cf535f27731c974343645a3985328-3"', None),
        ('""', None),
    ],
)
def test_etag_md5_hex(etag: str, expected: str | None):
    assert etag_md5_hex(etag) == expected


def declaring(data: bytes, size: int) -> bytes:
    """The zip with every member's uncompressed size rewritten to `size`: a bomb's headers, tiny data."""
    patched = bytearray(data)
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = patched.find(signature)
        while start >= 0:
            patched[start + size_offset : start + size_offset + 4] = size.to_bytes(4, "little")
            start = patched.find(signature, start + 4)
    return bytes(patched)


def test_content_hash_of_a_zip_bomb_is_plain_md5_without_decompressing(monkeypatch: pytest.MonkeyPatch):
    # Given the bomb: five bzip2 members of 512 MB each, 2.5 GB in all, in a few KB
    bomb = declaring(make_zip([(f"m{i}.bin", b"\0" * 1024) for i in range(5)], zipfile.ZIP_BZIP2), 512 << 20)
    assert len(bomb) < 4096
    assert sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) == 5 * (512 << 20)

    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def recording_open(archive: zipfile.ZipFile, name: str, *args: object, **kwargs: object) -> object:
        opened.append(name)
        return real_open(archive, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)

    # Then it is refused on its declared sizes, before a member is opened: the plain MD5 of the bytes
    assert content_hash(bomb) == hashlib.md5(bomb).hexdigest()
    assert opened == []


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_content_hash_bounds_what_is_decompressed_in_total(monkeypatch: pytest.MonkeyPatch, compression: int):
    # Given members each within the per-member bound but together past the total bound
    monkeypatch.setattr(hashing, "MAX_ZIP_DECOMPRESSED_BYTES", 3 * 65536)
    within = [("a.bin", b"\0" * 65536), ("b.bin", b"\1" * 65536), ("c.bin", b"\2" * 65536)]
    past = [*within, ("d.bin", b"\3")]

    # Then RomM's rule holds up to the bound, and the plain MD5 past it
    bomb = make_zip(past, compression)
    assert content_hash(make_zip(within, compression)) == expected_zip_hash(within)
    assert content_hash(bomb) == hashlib.md5(bomb).hexdigest()


def test_content_hash_bounds_the_member_count():
    # Given one archive at the member bound and one past it (memory cards hold a few dozen)
    at_bound = [(f"{i:04}.sav", bytes([i % 256])) for i in range(hashing.MAX_ZIP_MEMBERS)]
    past = [*at_bound, ("extra.sav", b"x")]

    crowded = make_zip(past)
    assert content_hash(make_zip(at_bound)) == expected_zip_hash(at_bound)
    assert content_hash(crowded) == hashlib.md5(crowded).hexdigest()
