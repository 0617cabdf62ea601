"""cloudsaves sync end to end against a fake HTTP layer (the server and S3 as objects): what is moved,
what is recorded, how the session is closed, and the exit code of each way a sync ends."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from cloudsaves_client import api as api_module
from cloudsaves_client import cli, transfer
from cloudsaves_client.config import Credentials, Settings
from cloudsaves_client.errors import ApiError, ExitCode, ServerError
from cloudsaves_client.sync import Sync

ROM = {"id": 1, "name": "Chrono Trigger", "fs_name": "Chrono Trigger (USA).sfc"}
NAME = "Chrono Trigger (USA).srm"
SERVER_BYTES = b"server save" * 100


class _Response:
    def __init__(self, status: int, body: bytes = b"") -> None:
        self.status_code, self.body, self.text = status, body, ""

    def iter_content(self, size: int) -> Iterator[bytes]:
        yield self.body

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *_: Any) -> None:
        pass


class FakeStorage:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {"s3://save/5": SERVER_BYTES}
        self.offline = False

    def request(self, method: str, url: str, data: Any, headers: dict[str, str], timeout: Any) -> _Response:
        self.blobs[url] = b"".join(iter(lambda: data.read(4096), b""))
        return _Response(200)

    def get(self, url: str, headers: dict[str, str], stream: bool, timeout: Any) -> _Response:
        if self.offline:
            raise requests.ConnectionError("network is down")
        return _Response(200, self.blobs[url])


class FakeServer:
    """The API calls Sync makes, answered from `operations`; records what it was asked."""

    def __init__(self, operations: list[dict[str, Any]]) -> None:
        self.operations = operations
        self.calls: list[tuple[str, Any]] = []
        self.reserve_conflict = False

    def roms(self) -> list[dict[str, Any]]:
        return [ROM]

    def negotiate(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("negotiate", body))
        return {"session_id": 77, "operations": self.operations, "state_operations": []}

    def download_url(self, kind: str, asset_id: int) -> dict[str, Any]:
        content_hash = hashlib.md5(SERVER_BYTES).hexdigest()
        return {
            "url": f"s3://{kind}/{asset_id}",
            "file_size_bytes": len(SERVER_BYTES),
            "content_hash": content_hash,
        }

    def confirm_download(self, save_id: int, device_id: str) -> None:
        self.calls.append(("downloaded", (save_id, device_id)))

    def reserve_upload(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("reserve", body))
        if self.reserve_conflict:
            raise ApiError(409, "Slot has a newer save since your last sync", "POST", "/api/saves/uploads")
        return {"upload_id": "u1", kind: {"url": "s3://upload/u1", "headers": {}}}

    def complete_upload(self, kind: str, upload_id: str) -> dict[str, Any]:
        return {"id": 9}

    def complete_session(self, session_id: int, completed: int, failed: int) -> dict[str, Any]:
        self.calls.append(("complete", (session_id, completed, failed)))
        return {}


def _op(action: str, **extra: Any) -> dict[str, Any]:
    base = {"action": action, "rom_id": 1, "save_id": 5, "slot": "autosave", "emulator": None, "reason": "r"}
    base.update(file_name="Chrono Trigger (USA) [2026-12-03_08-00-00].srm", server_content_hash="h-server")
    return {**base, **extra}


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "_pause", lambda attempt: None)


def _sync(tmp_path: Path, server: FakeServer, storage: FakeStorage) -> Sync:
    credentials = Credentials("http://server", "rmm_x", "dev-1", "deck")
    return Sync(
        credentials,
        Settings(),
        tmp_path / "saves",
        config_directory=tmp_path / "cfg",
        api=server,  # type: ignore[arg-type]
        storage=storage,
        clock=lambda: datetime(2026, 12, 3, 9, 0, tzinfo=UTC),  # type: ignore[arg-type]
    )


@pytest.fixture
def saves(tmp_path: Path) -> Path:
    (tmp_path / "saves").mkdir()
    return tmp_path / "saves"


def test_upload_and_download_then_the_session_is_closed_with_the_counts(tmp_path: Path, saves: Path) -> None:
    (saves / "Metroid.srm").write_bytes(b"unmapped")
    (saves / NAME).write_bytes(b"mine")
    server, storage = FakeServer([_op("upload", save_id=None, server_content_hash=None)]), FakeStorage()

    outcome = _sync(tmp_path, server, storage).run()

    assert outcome.exit_code == ExitCode.OK and [a.do for a in outcome.done] == ["upload"]
    negotiate = server.calls[0][1]
    assert negotiate["device_id"] == "dev-1" and negotiate["deleted"] == []
    assert [(s["file_name"], s["slot"], s["content_hash"]) for s in negotiate["saves"]] == [
        (NAME, "autosave", hashlib.md5(b"mine").hexdigest())
    ]
    reserve = dict(server.calls)["reserve"]
    assert (reserve["device_id"], reserve["overwrite"], reserve["file_size_bytes"]) == ("dev-1", False, 4)
    assert storage.blobs["s3://upload/u1"] == b"mine"
    assert server.calls[-1] == ("complete", (77, 1, 0))
    assert [line.split(":")[0] for line in outcome.unmapped] == ["Metroid.srm"]

    server.operations = [_op("download", server_content_hash=hashlib.md5(SERVER_BYTES).hexdigest())]
    again = _sync(tmp_path, server, storage).run()  # the folder state says "mine" is what was synced

    assert again.exit_code == ExitCode.OK and (saves / NAME).read_bytes() == SERVER_BYTES
    assert [b.read_bytes() for b in again.backups] == [b"mine"]
    assert ("downloaded", (5, "dev-1")) in server.calls  # confirmed only after the bytes were verified


def test_a_conflict_is_listed_moves_nothing_and_exits_5(tmp_path: Path, saves: Path) -> None:
    (saves / NAME).write_bytes(b"mine")
    server = FakeServer([_op("conflict")])

    outcome = _sync(tmp_path, server, FakeStorage()).run()

    assert outcome.exit_code == ExitCode.CONFLICT == 5 and outcome.done == []
    assert [c.rel for c in outcome.conflicts] == [NAME] and (saves / NAME).read_bytes() == b"mine"
    assert server.calls[-1] == ("complete", (77, 0, 1))


def test_the_server_s_409_at_reservation_is_a_conflict(tmp_path: Path, saves: Path) -> None:
    (saves / NAME).write_bytes(b"mine")
    server = FakeServer([_op("upload")])
    server.reserve_conflict = True

    outcome = _sync(tmp_path, server, FakeStorage()).run()

    assert outcome.exit_code == ExitCode.CONFLICT and "newer save" in outcome.conflicts[0].reason


def test_prefer_local_uploads_over_the_server_copy(tmp_path: Path, saves: Path) -> None:
    (saves / NAME).write_bytes(b"mine")
    server = FakeServer([_op("conflict")])

    outcome = _sync(tmp_path, server, FakeStorage()).run(prefer="local")

    assert outcome.exit_code == ExitCode.OK and dict(server.calls)["reserve"]["overwrite"] is True


def test_prefer_both_keeps_the_server_copy_beside_the_local_file_and_uploads_it(
    tmp_path: Path, saves: Path
) -> None:
    (saves / NAME).write_bytes(b"mine")
    server, storage = FakeServer([_op("conflict")]), FakeStorage()

    outcome = _sync(tmp_path, server, storage).run(prefer="both")

    assert outcome.exit_code == ExitCode.OK and [a.do for a in outcome.done] == ["keep_both"]
    assert (saves / NAME).read_bytes() == b"mine"  # the local file stays as it is
    assert (saves / f"{NAME}.server-20261203T090000").read_bytes() == SERVER_BYTES
    assert dict(server.calls)["reserve"]["overwrite"] is True and storage.blobs["s3://upload/u1"] == b"mine"
    assert ("downloaded", (5, "dev-1")) not in server.calls  # the device did not take the server's copy


def test_offline_midway_stops_exits_4_and_keeps_the_local_file(tmp_path: Path, saves: Path) -> None:
    (saves / NAME).write_bytes(b"mine")
    server, storage = FakeServer([_op("conflict")]), FakeStorage()
    storage.offline = True

    outcome = _sync(tmp_path, server, storage).run(prefer="server")

    assert outcome.exit_code == ExitCode.OFFLINE == 4 and outcome.done == []
    assert (saves / NAME).read_bytes() == b"mine"
    assert not [c for c in server.calls if c[0] == "complete"]  # offline: the session is left to expire


def test_a_session_cancelled_meanwhile_is_a_warning_not_a_failure(tmp_path: Path, saves: Path) -> None:
    (saves / NAME).write_bytes(b"mine")
    server = FakeServer([_op("upload", save_id=None, server_content_hash=None)])

    def cancelled(session_id: int, completed: int, failed: int) -> dict[str, Any]:
        raise ApiError(400, "Session is already CANCELLED", "POST", "/api/sync/sessions/77/complete")

    server.complete_session = cancelled  # type: ignore[method-assign]
    outcome = _sync(tmp_path, server, FakeStorage()).run()

    assert outcome.exit_code == ExitCode.OK and "already CANCELLED" in outcome.warnings[0]


def test_a_server_without_the_sync_protocol_says_so(tmp_path: Path, saves: Path) -> None:
    server = FakeServer([])

    def missing(body: dict[str, Any]) -> dict[str, Any]:
        raise ApiError(404, "Not Found", "POST", "/api/sync/negotiate")

    server.negotiate = missing  # type: ignore[method-assign]
    with pytest.raises(ServerError, match="no sync protocol") as raised:
        _sync(tmp_path, server, FakeStorage()).run()
    assert raised.value.exit_code == ExitCode.SERVER == 7


# --- the command line's exit codes ----------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLOUDSAVES_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setattr(api_module, "BACKOFF_FACTOR", 0)
    return tmp_path / "cfg"


def test_exit_2_when_not_logged_in(config: Path, saves: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sync", str(saves)]) == ExitCode.USAGE == 2
    assert "cloudsaves login URL" in capsys.readouterr().err


def test_exit_3_when_the_token_is_refused(
    config: Path, saves: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _server({}, otherwise=(401, {"detail": "Invalid or expired token"})) as url:
        Credentials(url, "rmm_revoked", "dev-1", "deck").save(config)
        assert cli.main(["sync", str(saves)]) == ExitCode.AUTH == 3
    assert f"cloudsaves login {url}" in capsys.readouterr().err


def test_exit_4_when_the_server_is_unreachable(
    config: Path, saves: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _server({}) as url:
        pass  # the port is closed again
    Credentials(url, "rmm_x", "dev-1", "deck").save(config)
    assert cli.main(["status"]) == ExitCode.OFFLINE == 4
    assert f"cannot reach {url}" in capsys.readouterr().err


def test_password_stdin_needs_a_username_and_the_url_must_be_one(config: Path) -> None:
    assert cli.main(["login", "http://h", "--password-stdin"]) == ExitCode.USAGE
    assert cli.main(["login", "saves.example.com", "--username", "u", "--password-stdin"]) == ExitCode.USAGE


@contextmanager
def _server(
    routes: dict[str, Any], otherwise: tuple[int, Any] = (404, {"detail": "Not Found"})
) -> Iterator[str]:
    """A GET of a path in `routes` (the query ignored) answers 200 with its body; any other, `otherwise`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            status, body = (200, routes[path]) if path in routes else otherwise
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_history_lists_versions_devices_and_screenshots_as_paths(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one printed line per line, whatever the terminal
    save = {
        "id": 41, "updated_at": "2026-12-02T20:15:00Z", "file_size_bytes": 8192,
        "content_hash": "0123456789ab", "slot": "autosave", "emulator": "snes9x", "origin_device_id": "dev-2",
        "file_name": NAME,
        "download_path": f"/api/saves/41/content/{NAME}?x=1", "screenshot": None,
    }  # fmt: skip
    state = {
        **save, "id": 42, "slot": None, "origin_device_id": None, "file_name": "Chrono Trigger (USA).state1",
        "download_path": "/api/states/42/content/Chrono%20Trigger%20(USA).state1",
        "screenshot": {"download_path": "/api/states/42/screenshot/content/shot.png?x=1"},
    }  # fmt: skip
    routes = {
        "/api/roms": {"items": [ROM, {"id": 2, "name": "Secret of Mana", "fs_name": "Mana.sfc"}], "total": 2},
        "/api/devices": [{"id": "dev-2", "name": "Steam Deck"}],
        "/api/saves": [save],
        "/api/states": [state],
    }
    with _server(routes) as url:
        Credentials(url, "rmm_x", "dev-1", "deck").save(config)

        assert cli.main(["history", "chrono"]) == ExitCode.OK
        assert cli.main(["history", "o"]) == ExitCode.USAGE  # two ROMs match: name it by id

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Chrono Trigger (Chrono Trigger (USA).sfc, ROM 1), newest first:"
    assert out[1].split() == [
        "save", "41", "2026-12-02", "20:15:00", "UTC", "8,192", "B", "md5", "01234567", "autosave", "snes9x",
        "from", "Steam", "Deck",
    ]  # fmt: skip
    assert out[2].strip() == f"{NAME}: /api/saves/41/content/{NAME}"
    assert out[3].split()[:2] == ["state", "42"] and out[3].split()[-3:] == ["snes9x", "from", "-"]
    assert out[5].strip() == "screenshot: /api/states/42/screenshot/content/shot.png"
