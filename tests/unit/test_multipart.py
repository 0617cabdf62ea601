from __future__ import annotations

import dataclasses
import os

import pytest

from cloudsaves.multipart import FormPart, MultipartError, parse_form

BOUNDARY = "----cloudsaves7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(headers: list[str], data: bytes, boundary: str = BOUNDARY) -> bytes:
    head = "".join(f"{line}\r\n" for line in headers).encode("utf-8")
    return b"--" + boundary.encode() + b"\r\n" + head + b"\r\n" + data + b"\r\n"


def close(boundary: str = BOUNDARY) -> bytes:
    return b"--" + boundary.encode() + b"--\r\n"


def file_part(data: bytes, filename: str = "pokemon.srm", name: str = "saveFile") -> bytes:
    return part(
        [
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"',
            "Content-Type: application/octet-stream",
        ],
        data,
    )


def test_parse_form_file_and_text_field():
    body = file_part(b"SAVE") + part(['Content-Disposition: form-data; name="note"'], b"hi") + close()

    form = parse_form(body, CONTENT_TYPE)

    assert form == {
        "saveFile": [FormPart("saveFile", "pokemon.srm", "application/octet-stream", b"SAVE")],
        "note": [FormPart("note", None, None, b"hi")],
    }


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,
        b"\x00\x00\x00",
        b"line one\r\nline two\r\n",
        b"\r\n",
        b"",
        b"\r\n\r\nlooks like a header end\r\n\r\n",
        b"\xff\xfe\xc3\x28 invalid utf-8 \x80",
        f"\r\n--{BOUNDARY}X not a delimiter".encode(),
        f"\r\n--{BOUNDARY}".encode()[:-1] + b"\r\n",
        b"ends with CR\r",
    ],
)
def test_parse_form_keeps_content_bytes_exact(data: bytes):
    form = parse_form(file_part(data) + close(), CONTENT_TYPE)

    assert form["saveFile"][0].data == data


def test_parse_form_random_binary_roundtrips_through_an_independent_encoder():
    urllib3 = pytest.importorskip("urllib3")
    data = os.urandom(64 * 1024) + b"\r\n--\r\n\x00"
    body, content_type = urllib3.encode_multipart_formdata(
        {"saveFile": ("Pokémon Rot.srm", data, "application/octet-stream"), "emulator": "mgba"}
    )

    form = parse_form(body, content_type)

    assert form["saveFile"][0].data == data
    assert form["saveFile"][0].filename == "Pokémon Rot.srm"
    assert form["emulator"][0].data == b"mgba"


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ('multipart/form-data; boundary="with space:and=equals"', "with space:and=equals"),
        ("multipart/form-data; boundary=plain-token", "plain-token"),
        ("Multipart/Form-Data; charset=utf-8; BOUNDARY=Upper", "Upper"),
        ('multipart/form-data;boundary="semi;colon"', "semi;colon"),
    ],
)
def test_parse_form_reads_quoted_and_unquoted_boundaries(content_type: str, boundary: str):
    body = part(['Content-Disposition: form-data; name="f"'], b"x", boundary) + close(boundary)

    assert parse_form(body, content_type)["f"][0].data == b"x"


def test_parse_form_ignores_preamble_and_epilogue():
    body = b"preamble text\r\nmore preamble\r\n" + file_part(b"SAVE") + close() + b"epilogue\r\n--junk"

    assert parse_form(body, CONTENT_TYPE)["saveFile"][0].data == b"SAVE"


def test_parse_form_accepts_missing_crlf_after_closing_boundary():
    body = file_part(b"SAVE") + close().rstrip(b"\r\n")

    assert parse_form(body, CONTENT_TYPE)["saveFile"][0].data == b"SAVE"


def test_parse_form_accepts_transport_padding_after_boundary():
    body = file_part(b"SAVE").replace(f"--{BOUNDARY}\r\n".encode(), f"--{BOUNDARY}  \t\r\n".encode())

    assert parse_form(body + close(), CONTENT_TYPE)["saveFile"][0].data == b"SAVE"


def test_parse_form_keeps_repeated_field_names_in_order():
    body = file_part(b"1", "a.srm") + file_part(b"2", "b.srm") + close()

    parts = parse_form(body, CONTENT_TYPE)["saveFile"]

    assert [(p.filename, p.data) for p in parts] == [("a.srm", b"1"), ("b.srm", b"2")]


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        ("form-data; name=\"saveFile\"; filename*=UTF-8''%F0%9F%8E%AE%20Pok%C3%A9mon.srm", "🎮 Pokémon.srm"),
        ("form-data; name=\"saveFile\"; filename*=iso-8859-1'en'caf%E9.srm", "café.srm"),
        ('form-data; name="saveFile"; filename="fallback.srm"; filename*=UTF-8\'\'r%C3%A9el.srm', "réel.srm"),
        ('form-data; name="saveFile"; filename="Pokémon.srm"', "Pokémon.srm"),
        ('form-data; name="saveFile"; filename="say \\"hi\\".srm"', 'say "hi".srm'),
        ('form-data; name="saveFile"; filename="C:\\Users\\me\\a.srm"', "C:\\Users\\me\\a.srm"),
        ('form-data; name="saveFile"; filename="double\\\\slash.srm"', "double\\slash.srm"),
        ('form-data; name="saveFile"; filename="semi;colon.srm"', "semi;colon.srm"),
        ("form-data; name=saveFile; filename=unquoted.srm", "unquoted.srm"),
        ('form-data; name="saveFile"; filename=""', ""),
        ('form-data; name="saveFile"', None),
    ],
)
def test_parse_form_reads_filename_forms(disposition: str, filename: str | None):
    body = part([f"Content-Disposition: {disposition}"], b"data") + close()

    assert parse_form(body, CONTENT_TYPE)["saveFile"][0].filename == filename


def test_parse_form_header_names_and_disposition_are_case_insensitive():
    body = part(['content-disposition: Form-Data; NAME="f"', "CONTENT-TYPE: text/plain"], b"x") + close()

    parsed = parse_form(body, CONTENT_TYPE)["f"][0]

    assert (parsed.name, parsed.content_type) == ("f", "text/plain")


def test_parse_form_latin1_header_falls_back_without_error():
    body = (
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="saveFile"; filename="caf\xe9.srm"\r\n\r\nx\r\n'
        + close()
    )

    assert parse_form(body, CONTENT_TYPE)["saveFile"][0].filename == "café.srm"


def test_parse_form_empty_form_is_allowed():
    assert parse_form(close(), CONTENT_TYPE) == {}


def test_form_part_is_frozen():
    form_part = FormPart("saveFile", "a.srm", None, b"x")

    with pytest.raises(dataclasses.FrozenInstanceError):
        form_part.data = b"y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (close(), "application/json", "Expected a multipart/form-data body"),
        (close(), "", "Expected a multipart/form-data body"),
        (close(), "multipart/mixed; boundary=x", "Expected a multipart/form-data body"),
        (close(), "multipart/form-data", "no boundary"),
        (close(), 'multipart/form-data; boundary=""', "no boundary"),
        (file_part(b"SAVE"), CONTENT_TYPE, "without a closing boundary"),
        (file_part(b"SAVE")[:-10], CONTENT_TYPE, "without a closing boundary"),
        (file_part(b"SAVE") + f"--{BOUNDARY}".encode(), CONTENT_TYPE, "without a closing boundary"),
        (f"--{BOUNDARY}".encode(), CONTENT_TYPE, "without a closing boundary"),
        (b"no delimiter anywhere", CONTENT_TYPE, "no opening boundary"),
        (b"", CONTENT_TYPE, "no opening boundary"),
        (f"--{BOUNDARY}junk\r\n".encode() + close(), CONTENT_TYPE, "not followed by CRLF"),
        (part(["Content-Type: text/plain"], b"x") + close(), CONTENT_TYPE, "Content-Disposition"),
        (part(['Content-Disposition: attachment; name="f"'], b"x") + close(), CONTENT_TYPE, "form-data"),
        (part(['Content-Disposition: form-data; filename="a"'], b"x") + close(), CONTENT_TYPE, "with a name"),
        (part([], b"x") + close(), CONTENT_TYPE, "Content-Disposition"),
        (
            part(['Content-Disposition: form-data; name="f"', "no colon"], b"x") + close(),
            CONTENT_TYPE,
            "header",
        ),
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"\r\n'.encode() + close(),
            CONTENT_TYPE,
            "no blank line",
        ),
        (
            part(['Content-Disposition: form-data; name="f"; filename*=no-quotes.srm'], b"x") + close(),
            CONTENT_TYPE,
            "Malformed filename\\*",
        ),
        (
            part(["Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%FF.srm"], b"x") + close(),
            CONTENT_TYPE,
            "not valid UTF-8",
        ),
        (
            part(["Content-Disposition: form-data; name=\"f\"; filename*=nope''a.srm"], b"x") + close(),
            CONTENT_TYPE,
            "unsupported charset",
        ),
        (
            part(['Content-Disposition: form-data; name="f"; filename="' + "a" * 9000 + '"'], b"x") + close(),
            CONTENT_TYPE,
            "too long",
        ),
    ],
)
def test_parse_form_rejects_malformed_input(body: bytes, content_type: str, message: str):
    with pytest.raises(MultipartError, match=message):
        parse_form(body, content_type)


def test_multipart_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_form(b"", "text/plain")


@pytest.mark.parametrize("codec", ["hex", "zlib", "base64", "rot13", "bz2", "uu", "quopri"])
@pytest.mark.parametrize("encoded", ["%41%42.srm", "6869.srm"])
def test_parse_form_refuses_filename_star_naming_a_non_text_codec(codec: str, encoded: str):
    # Given a codec Python knows that turns bytes into bytes (or str into str), not bytes into text
    disposition = f"Content-Disposition: form-data; name=\"f\"; filename*={codec}''{encoded}"

    # Then it is an unsupported charset (a 400 upstream), never a LookupError
    with pytest.raises(MultipartError, match="unsupported charset"):
        parse_form(part([disposition], b"x") + close(), CONTENT_TYPE)


@pytest.mark.parametrize("charset", ["undefined", "idna", "punycode", "utf-7", "unicode_escape"])
def test_parse_form_refuses_filename_star_its_charset_cannot_decode(charset: str):
    disposition = f"Content-Disposition: form-data; name=\"f\"; filename*={charset}''%5Cx%FF%80.srm"

    with pytest.raises(MultipartError, match="not valid"):
        parse_form(part([disposition], b"x") + close(), CONTENT_TYPE)
