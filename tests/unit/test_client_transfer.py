"""cloudsaves: downloads resume after a dropped connection and replace nothing unless verified;
uploads send exactly the signed headers. A real HTTP server on loopback plays S3's presigned URLs."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cloudsaves_client import transfer
from cloudsaves_client.api import storage_session
from cloudsaves_client.errors import IntegrityError
from cloudsaves_client.files import digest
from cloudsaves_client.progress import SilentReporter

DATA = bytes(range(256)) * 4096  # 1 MiB


class _Storage(http.server.BaseHTTPRequestHandler):
    """GET with Range; the first `drops` GETs send half the body and cut the connection."""

    drops: ClassVar[int] = 0
    ranges: ClassVar[list[str | None]] = []
    puts: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        type(self).ranges.append(wanted)
        start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
        body = DATA[start:]
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).drops > 0:
            type(self).drops -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).puts.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def storage_url() -> Iterator[str]:
    _Storage.drops, _Storage.ranges, _Storage.puts = 0, [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Storage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bucket/key"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "_pause", lambda attempt: None)


def test_a_download_cut_off_midway_resumes_from_where_it_stopped(storage_url: str, tmp_path: Path) -> None:
    _Storage.drops = 1
    part, reporter = tmp_path / "x.part", SilentReporter()

    transfer.download(
        storage_session(),
        lambda refresh: storage_url,
        part,
        len(DATA),
        hashlib.md5(DATA).hexdigest(),
        reporter.file("x", len(DATA)),
    )

    assert part.read_bytes() == DATA
    assert _Storage.ranges == [None, f"bytes={len(DATA) // 2}-"]  # the second request asked for the rest
    assert reporter.files["x"][-1] == len(DATA)


def test_a_part_left_by_an_earlier_run_is_continued(storage_url: str, tmp_path: Path) -> None:
    part = tmp_path / "x.part"
    part.write_bytes(DATA[:1000])

    transfer.download(
        storage_session(), lambda refresh: storage_url, part, len(DATA), None, SilentReporter().file("x", 1)
    )

    assert part.read_bytes() == DATA and _Storage.ranges == ["bytes=1000-"]


def test_bytes_that_do_not_match_the_announced_hash_are_thrown_away(storage_url: str, tmp_path: Path) -> None:
    part = tmp_path / "x.part"
    with pytest.raises(IntegrityError, match="nothing was replaced"):
        transfer.download(
            storage_session(),
            lambda refresh: storage_url,
            part,
            len(DATA),
            "0" * 32,
            SilentReporter().file("x", 1),
        )
    assert not part.exists()


def test_upload_puts_the_file_with_exactly_the_signed_headers(storage_url: str, tmp_path: Path) -> None:
    path = tmp_path / "Game.state"
    path.write_bytes(DATA)
    file_digest = digest(path)
    calls: list[tuple[str, Any]] = []

    class FakeApi:
        def reserve_upload(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
            calls.append(("reserve", body))
            headers = {"Content-Length": str(file_digest.size), "Content-MD5": file_digest.md5_base64}
            return {"upload_id": "u1", "state": {"url": storage_url, "method": "PUT", "headers": headers}}

        def complete_upload(self, kind: str, upload_id: str) -> dict[str, Any]:
            calls.append(("complete", upload_id))
            return {"id": 7}

    reporter = SilentReporter()
    record = transfer.upload(
        FakeApi(),
        storage_session(),
        "state",
        {"rom_id": 1},
        path,
        file_digest,
        reporter.file("up", 1),  # type: ignore[arg-type]
    )

    assert record == {"id": 7} and [c[0] for c in calls] == ["reserve", "complete"]
    headers, body = _Storage.puts[0]
    assert body == DATA and headers["Content-MD5"] == file_digest.md5_base64
    assert "Authorization" not in headers and "Transfer-Encoding" not in headers
    assert reporter.files["up"][-1] == len(DATA)
