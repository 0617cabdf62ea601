"""Pure units of the client surface: image signatures, pairing codes, the contract's status table."""

from __future__ import annotations

import pytest

from cloudsaves.images import image_type
from cloudsaves.services.token_pairing import PAIR_ALPHABET, generate_pair_code, normalize_code


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 8, "image/jpeg"),
        (b"GIF89a" + b"\x00" * 8, "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"BM" + b"\x00" * 30, "image/bmp"),
        (b"II*\x00" + b"\x00" * 8, "image/tiff"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 8, "image/avif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),  # scripts can hide in SVG: not accepted
        (b"PK\x03\x04 a zip named shot.png", None),
        (b"", None),
    ],
)
def test_image_type_reads_the_signature_not_the_name(data, expected):
    assert image_type(data) == expected


def test_pair_codes_use_romms_alphabet():
    codes = {generate_pair_code() for _ in range(200)}
    assert all(len(code) == 8 and set(code) <= set(PAIR_ALPHABET) for code in codes)
    assert len(codes) > 190  # random, not a counter
    assert not set("01IOL") & set(PAIR_ALPHABET)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("K7MQ2XHT", "K7MQ2XHT"),
        ("k7mq-2xht", "K7MQ2XHT"),
        ("K7MQ-2XH", None),  # too short
        ("K7MQ2XH0", None),  # 0 is not in the alphabet
        ("K7MQ 2XHT", None),
        ("", None),
    ],
)
def test_normalize_code_ignores_dashes_and_case_and_refuses_the_rest(raw, expected):
    assert normalize_code(raw) == expected
