"""What the presigned URLs of the direct path sign: recomputed here with SigV4 by hand, not by botocore."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from cloudsaves import storage
from cloudsaves.hashing import md5_base64
from tests.conftest import TEST_BUCKET

DATA = b"\x00\x01 save bytes \xff" * 100
KEY = "staging/1001/0b6f7c1e-upload/file"


def _sigv4(method: str, url: str, headers: dict[str, str], secret: str = "testing") -> str:
    """The SigV4 query-string signature of `method url` with `headers` signed, per AWS's documentation."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    del query["X-Amz-Signature"]
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    signed = query["X-Amz-SignedHeaders"].split(";")
    all_headers = {"host": parts.netloc, **{k.lower(): v for k, v in headers.items()}}
    canonical_headers = "".join(f"{name}:{all_headers[name].strip()}\n" for name in signed)
    canonical_request = "\n".join(
        [
            method,
            quote(unquote(parts.path), safe="/-_.~"),
            canonical_query,
            canonical_headers,
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    date, region, service, _ = query["X-Amz-Credential"].split("/")[1:]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _signature(url: str) -> str:
    return parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]


def test_presigned_put_signs_method_key_length_md5_and_expiry() -> None:
    url, headers = storage.presigned_put(KEY, len(DATA), md5_base64(DATA), ttl_seconds=1800)

    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == f"/{TEST_BUCKET}/{KEY}"  # path-style: valid against moto too
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-md5;host"]
    assert query["X-Amz-Expires"] == ["1800"]
    assert headers == {"Content-Length": str(len(DATA)), "Content-MD5": md5_base64(DATA)}
    assert _signature(url) == _sigv4("PUT", url, headers)


def test_presigned_put_signature_rejects_another_size_bytes_or_method() -> None:
    url, headers = storage.presigned_put(KEY, len(DATA), md5_base64(DATA), ttl_seconds=900)

    other_size = {**headers, "Content-Length": str(len(DATA) + 1)}
    other_bytes = {**headers, "Content-MD5": md5_base64(DATA + b"!")}
    assert _signature(url) != _sigv4("PUT", url, other_size)
    assert _signature(url) != _sigv4("PUT", url, other_bytes)
    assert _signature(url) != _sigv4("GET", url, headers)


def test_presigned_get_names_the_file_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsaves.settings import get_settings

    monkeypatch.setenv("PRESIGNED_URL_TTL_SECONDS", "300")
    get_settings.cache_clear()

    presigned = storage.presigned_get("users/1/states/abc/Zelda (USA).state", "Zelda (USA).state")

    query = parse_qs(urlsplit(presigned.url).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert query["response-content-disposition"][0].startswith('attachment; filename="Zelda (USA).state"')
    assert _signature(presigned.url) == _sigv4("GET", presigned.url, {})


def test_staging_key_is_under_the_expiring_prefix_and_unique_per_upload() -> None:
    first = storage.staging_key(7, "upload-a", "file")
    second = storage.staging_key(7, "upload-b", "file")

    assert first.startswith("staging/") and second.startswith("staging/")
    assert first != second
    assert storage.staging_key(7, "upload-a", "screenshot") != first
