"""A small, byte-exact `multipart/form-data` parser for a complete in-memory body (RFC 7578 / 2046).

Lambda hands us the whole body at once, so there is no streaming state machine: each part is
found by searching for the next `CRLF--boundary`, and its bytes are returned untouched.
Header parameters are read the way Starlette's python-multipart reads them (RomM's parser), plus
`filename*=` (RFC 5987/2231), which some clients send for non-ASCII names.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from urllib.parse import unquote

_CRLF = b"\r\n"
_MAX_HEADER_LINE = 8192  # python-multipart allows 4 KiB; a longer line is abuse, not a file name
# `;` name `=` (quoted-string | token); a `;` inside quotes does not end the value.
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class MultipartError(ValueError):
    """The body is not a well-formed multipart/form-data payload."""


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def parse_form(body: bytes, content_type: str) -> dict[str, list[FormPart]]:
    """Split a complete multipart/form-data body into its parts, grouped by field name in body order."""
    delimiter = b"--" + _boundary(content_type)
    form: dict[str, list[FormPart]] = {}
    position = _first_delimiter(body, delimiter)
    while True:
        position += len(delimiter)
        if body[position : position + 2] == b"--":
            return form  # closing delimiter; anything after it is epilogue
        position = _skip_boundary_line_end(body, position)
        end = _next_delimiter(body, delimiter, position)
        part = _parse_part(body[position:end])
        form.setdefault(part.name, []).append(part)
        position = end + len(_CRLF)


def _boundary(content_type: str) -> bytes:
    media_type, params = _parse_header_value(content_type or "")
    if media_type != "multipart/form-data":
        got = media_type[:80] or "no content type"
        raise MultipartError(f"Expected a multipart/form-data body, got {got!r}")
    boundary = params.get("boundary", "")
    if not boundary:
        raise MultipartError("The multipart Content-Type has no boundary parameter")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise MultipartError("The multipart boundary is not ASCII") from None


def _first_delimiter(body: bytes, delimiter: bytes) -> int:
    if body.startswith(delimiter):
        return 0
    found = body.find(_CRLF + delimiter)  # after a preamble, the delimiter starts a line
    if found < 0:
        raise MultipartError("The multipart body has no opening boundary")
    return found + len(_CRLF)


def _skip_boundary_line_end(body: bytes, position: int) -> int:
    while body[position : position + 1] in (b" ", b"\t"):  # transport padding (RFC 2046 5.1.1)
        position += 1
    if body[position : position + 2] != _CRLF:
        if position >= len(body):
            raise MultipartError("The multipart body ends without a closing boundary (truncated?)")
        raise MultipartError("A multipart boundary line is not followed by CRLF")
    return position + 2


def _next_delimiter(body: bytes, delimiter: bytes, start: int) -> int:
    """Index of the CRLF that opens the next real delimiter line (`--boundary` then `--`, LWSP or CRLF)."""
    marker = _CRLF + delimiter
    found = body.find(marker, start)
    while found >= 0:
        after = body[found + len(marker) : found + len(marker) + 2]
        if after in (b"--", _CRLF) or after[:1] in (b" ", b"\t"):
            return found
        found = body.find(marker, found + 1)  # `--boundaryX` inside content is data, as python-multipart
    raise MultipartError("The multipart body ends without a closing boundary (truncated?)")


def _parse_part(raw: bytes) -> FormPart:
    if raw.startswith(_CRLF):  # a part with no header lines at all
        header_block, data = b"", raw[2:]
    else:
        header_end = raw.find(_CRLF + _CRLF)
        if header_end < 0:
            raise MultipartError("A multipart part has no blank line after its headers")
        header_block, data = raw[:header_end], raw[header_end + 4 :]
    headers = _parse_headers(header_block)

    disposition, params = _parse_header_value(headers.get("content-disposition", ""))
    if disposition != "form-data" or "name" not in params:
        raise MultipartError("A multipart part has no Content-Disposition: form-data header with a name")
    return FormPart(
        name=params["name"],
        filename=_filename(params),
        content_type=headers.get("content-type") or None,
        data=data,
    )


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = ""
    for line in block.split(_CRLF) if block else []:
        if len(line) > _MAX_HEADER_LINE:
            raise MultipartError("A multipart part header line is too long")
        text = _decode_header(line)
        if text[:1] in (" ", "\t") and last:  # obsolete line folding
            headers[last] += " " + text.strip()
            continue
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise MultipartError(f"Malformed multipart part header: {text[:80]!r}")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers


def _decode_header(raw: bytes) -> str:
    # Browsers send file names as raw UTF-8; fall back to latin-1 as Starlette does.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """`type/sub; key=value; key="quoted"` -> (lowercased type, {lowercased key: unquoted value})."""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        key, raw = match.group(1).lower(), match.group(2).strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            # python-multipart's unquoting: only \\ and \" are escapes, so C:\dir\f stays intact
            raw = raw[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        params[key] = raw  # a repeated parameter: the last one wins, as python-multipart
    return main.strip().lower(), params


def _filename(params: dict[str, str]) -> str | None:
    # RFC 6266 4.3: the extended form wins when a client sends both.
    if "filename*" in params:
        return _decode_extended(params["filename*"])
    return params.get("filename")


def _decode_extended(value: str) -> str:
    """RFC 5987 `charset'language'percent-encoded` -> text."""
    charset, quote1, rest = value.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not (quote1 and quote2 and charset):
        raise MultipartError(f"Malformed filename* parameter: {value[:80]!r}")
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        codec = None
    # hex, zlib, base64, rot13... are codecs Python knows, but not text encodings (bytes -> str)
    if codec is None or not getattr(codec, "_is_text_encoding", True):
        raise MultipartError(f"filename* has an unsupported charset: {charset[:40]!r}")
    try:
        return unquote(encoded, encoding=charset, errors="strict")
    except (UnicodeError, ValueError):  # UnicodeError: `undefined` refuses everything
        raise MultipartError(f"filename* is not valid {charset[:40]}") from None
