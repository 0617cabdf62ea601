"""The content hash against the zip bomb of issue 8: five bzip2 members of 512 MB each, about 2.5 KB.

    PYTHONPATH=.:shared python bench/zip_bomb.py

Builds the bomb (one bzip2 stream of 512 MB of zeros, reused by each member; the central directory
tells the truth), then times `content_hash` on it, and on an archive just inside the bounds.
"""

from __future__ import annotations

import bz2
import io
import struct
import time
import zipfile
import zlib

from cloudsaves import hashing

MEMBER_BYTES = 512 * 1024 * 1024
MEMBERS = 5
_BZIP2 = 12


def bzip2_zeros(size: int) -> tuple[bytes, int]:
    """(bzip2 stream of `size` zero bytes, their CRC-32), built in 16 MB steps."""
    compressor, crc, chunk = bz2.BZ2Compressor(9), 0, bytes(16 * 1024 * 1024)
    parts = []
    for _ in range(size // len(chunk)):
        parts.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(compressor.flush())
    return b"".join(parts), crc


def bomb() -> bytes:
    stream, crc = bzip2_zeros(MEMBER_BYTES)
    out, central = io.BytesIO(), io.BytesIO()
    for index in range(MEMBERS):
        name = f"member{index}.bin".encode()
        offset = out.tell()
        fields = (46, 0, _BZIP2, 0, 0, crc, len(stream), MEMBER_BYTES, len(name))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name + stream)
        central.write(
            struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 46, *fields, 0, 0, 0, 0, 0, offset) + name
        )
    directory = central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, MEMBERS, MEMBERS, len(directory), out.tell(), 0)
    return out.getvalue() + directory + end


def timed(data: bytes) -> float:
    """CPU seconds of one content_hash (wall time on a shared machine says more about the neighbours)."""
    start = time.process_time()
    hashing.content_hash(data)
    return time.process_time() - start


def main() -> None:
    data = bomb()
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    declared = sum(info.file_size for info in infos)
    print(f"bomb: {len(data):,} bytes, {len(infos)} bzip2 members declaring {declared / 2**30:.1f} GiB")
    print(f"content_hash(bomb): {timed(data) * 1000:.1f} ms")
    inside = io.BytesIO()
    with zipfile.ZipFile(inside, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("card.bin", bytes(hashing.MAX_ZIP_DECOMPRESSED_BYTES - 1024))
    print(
        f"content_hash(bzip2 zip of {hashing.MAX_ZIP_DECOMPRESSED_BYTES >> 20} MiB, the bound): "
        f"{timed(inside.getvalue()):.2f} s"
    )


if __name__ == "__main__":
    main()
