"""The local stack's data directory: moto's table items and object versions, kept across restarts.

moto keeps everything in process memory. ``DataStore`` makes it durable without changing what moto
answers: every DynamoDB item and S3 key a request wrote is noted (by hooks on moto's backends) and, before
the response leaves the moto server, its current state is written to SQLite (``state.sqlite3``). Object
bytes never sit in memory: each version's bytes live in their own file under ``blobs/``, which moto reads
through ``BlobFile`` in place of its in-memory buffer. At start, ``restore()`` loads it all back into moto.

An acknowledged write is committed to SQLite (WAL) before the client sees the response, so stopping the
process, even with SIGKILL, loses nothing acknowledged; only a crash of the machine itself can lose the
last writes that the OS had not yet put on disk (``synchronous=NORMAL``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DEFAULT_ACCOUNT = "123456789012"  # moto's account when requests carry test credentials

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    table_name TEXT NOT NULL, item_key TEXT NOT NULL, item TEXT NOT NULL,
    PRIMARY KEY (table_name, item_key)
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, object_key TEXT NOT NULL, versions BLOB NOT NULL,
    PRIMARY KEY (bucket, object_key)
);
"""


class BlobFile:
    """A file-like stand-in for moto's per-key ``SpooledTemporaryFile``: the bytes live in one file under
    the data directory and no descriptor stays open between calls (thousands of keys, no fd limit)."""

    def __init__(self, path: Path, on_close: Callable[[Path], None] = lambda path: None) -> None:
        self.path = path
        self._position = 0
        self._on_close = on_close

    @property
    def name(self) -> str:
        return self.path.name

    def seek(self, position: int, whence: int = 0) -> int:
        if whence == 2:
            position += self.path.stat().st_size if self.path.exists() else 0
        elif whence == 1:
            position += self._position
        self._position = position
        return position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if not self.path.exists():
            return b""
        with self.path.open("rb") as file:
            file.seek(self._position)
            data = file.read(size)
        self._position += len(data)
        return data

    def write(self, data: bytes) -> int:
        with self.path.open("r+b" if self.path.exists() else "wb") as file:
            file.seek(self._position)
            file.write(data)
        self._position += len(data)
        return len(data)

    def truncate(self, size: int | None = None) -> int:
        size = self._position if size is None else size
        with self.path.open("r+b" if self.path.exists() else "wb") as file:
            file.truncate(size)
        return size

    def close(self) -> None:
        """moto is done with these bytes (a disposed key, or a copy): the store removes the file unless a
        committed version names it."""
        self._on_close(self.path)


class DataStore:
    """The data directory of one local stack. ``moto_patches.attach(store)`` makes moto report its writes
    here, ``flush()`` commits what the current request wrote, ``restore()`` loads it all into moto."""

    def __init__(self, directory: str | Path, region: str) -> None:
        self.directory = Path(directory)
        self.blobs = self.directory / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._region = region
        self._db = sqlite3.connect(
            self.directory / "state.sqlite3", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # One flush at a time: each writes the state it has just read. Reentrant: a key moto drops during
        # a flush can be garbage-collected, and so closed, on the flushing thread.
        self._lock = threading.RLock()
        # What the request being served wrote: moto serves each request on its own thread, and S3 requests
        # run concurrently, so each request commits exactly its own writes, once it is complete.
        self._written = threading.local()
        self._committed: set[str] = set()  # blob files named by a stored version

    # -- capture (called by the hooks in local_stack.moto_patches) --------------------------------------

    def item_written(self, table_name: str, key: dict[str, Any]) -> None:
        self._dirty_items.add((table_name, json.dumps(key, sort_keys=True)))

    def object_written(self, bucket: str, key: str) -> None:
        self._dirty_objects.add((bucket, key))

    @property
    def _dirty_items(self) -> set[tuple[str, str]]:  # (table, canonical key JSON)
        if not hasattr(self._written, "items"):
            self._written.items = set()
        return self._written.items  # type: ignore[no-any-return]

    @property
    def _dirty_objects(self) -> set[tuple[str, str]]:  # (bucket, key)
        if not hasattr(self._written, "objects"):
            self._written.objects = set()
        return self._written.objects  # type: ignore[no-any-return]

    def new_blob(self) -> BlobFile:
        return BlobFile(self.blobs / uuid.uuid4().hex, self._blob_closed)

    def _blob_closed(self, path: Path) -> None:
        with self._lock:
            if path.name not in self._committed:
                path.unlink(missing_ok=True)

    # -- commit ------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit the current state of what this thread's request wrote, in one SQLite transaction."""
        if not self._dirty_items and not self._dirty_objects:
            return
        with self._lock, self._transaction():
            self._flush_items()
            removed = self._flush_objects()
        for blob in removed:
            with contextlib.suppress(FileNotFoundError):
                (self.blobs / blob).unlink()

    def _flush_items(self) -> None:
        backend = _dynamodb_backend(self._region)
        while self._dirty_items:
            table_name, key_json = self._dirty_items.pop()
            item = None
            with contextlib.suppress(Exception):  # the table or key is gone or invalid: nothing stored
                item = backend.get_item(table_name, json.loads(key_json))
            if item is None:
                self._db.execute(
                    "DELETE FROM items WHERE table_name = ? AND item_key = ?", (table_name, key_json)
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO items VALUES (?, ?, ?)",
                    (table_name, key_json, json.dumps(item.to_json()["Attributes"], default=wire_json)),
                )

    def _flush_objects(self) -> set[str]:
        """Store each written key's versions; returns the blob files no stored version names any more."""
        backend = _s3_backend(self._region)
        removed: set[str] = set()
        while self._dirty_objects:
            bucket_name, key = self._dirty_objects.pop()
            row = self._db.execute(
                "SELECT versions FROM objects WHERE bucket = ? AND object_key = ?", (bucket_name, key)
            ).fetchone()
            before = _blob_names(pickle.loads(row[0])) if row else set()
            versions: list[Any] = []
            with contextlib.suppress(Exception):  # bucket gone: nothing stored
                versions = list(backend.get_bucket(bucket_name).keys.getlist(key, []))
            states = [_version_state(version) for version in versions]
            if states:
                self._db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)",
                    (bucket_name, key, pickle.dumps(states)),
                )
            else:
                self._db.execute(
                    "DELETE FROM objects WHERE bucket = ? AND object_key = ?", (bucket_name, key)
                )
            after = _blob_names(states)
            removed |= before - after
            self._committed = (self._committed - before) | after
        return removed

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- restore -----------------------------------------------------------------------------------------

    def restore(self) -> tuple[int, int]:
        """Load every stored item and object version into moto (its tables and buckets must exist) and
        remove blob files no version names (bytes of a write that died before its commit).
        Returns (items, object versions) loaded."""
        dynamodb, s3 = _dynamodb_backend(self._region), _s3_backend(self._region)
        items = versions = 0
        with self._lock:
            for table_name, item_json in self._db.execute("SELECT table_name, item FROM items"):
                dynamodb.get_table(table_name).put_item(json.loads(item_json))
                items += 1
            named: set[str] = set()
            for bucket_name, key, blob in self._db.execute(
                "SELECT bucket, object_key, versions FROM objects"
            ):
                states = pickle.loads(blob)
                named |= _blob_names(states)
                bucket = s3.get_bucket(bucket_name)
                dict.__setitem__(bucket.keys, key, [self._version(state) for state in states])
                versions += len(states)
            for path in self.blobs.iterdir():
                if path.name not in named:
                    path.unlink()
            self._committed = named
        return items, versions

    def _version(self, state: dict[str, Any]) -> Any:
        from moto.s3.models import FakeDeleteMarker, FakeKey

        state = dict(state)
        if state.pop("_delete_marker", False):
            marker = FakeDeleteMarker.__new__(FakeDeleteMarker)
            marker.__dict__.update(state)
            marker.key = self._version(state["key"])
            return marker
        key = FakeKey.__new__(FakeKey)
        blob = state.pop("_blob", None)
        key.__dict__.update(state)
        key._value_buffer = BlobFile(self.blobs / blob, self._blob_closed) if blob else _EmptyBuffer()
        key.lock = threading.Lock()
        return key

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _EmptyBuffer(BlobFile):
    """The buffer of a delete marker's key: a marker has no bytes."""

    def __init__(self) -> None:
        super().__init__(Path(os.devnull))

    def read(self, size: int = -1) -> bytes:
        return b""

    def write(self, data: bytes) -> int:
        return len(data)

    def truncate(self, size: int | None = None) -> int:
        return 0


def wire_json(value: Any) -> Any:
    """``json.dumps``' default for moto's items: nested moto values, binary as the wire has it (base64)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if isinstance(value, DynamoType):
        return value.to_json()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _version_state(version: Any) -> dict[str, Any]:
    """A picklable description of one moto object version (FakeKey or FakeDeleteMarker)."""
    if not hasattr(version, "_value_buffer"):  # a delete marker
        state = dict(version.__dict__)
        state["key"] = _version_state(state["key"])
        state["key"].pop("_blob", None)  # the marker's key needs no bytes
        state["_delete_marker"] = True
        return state
    state = {name: value for name, value in version.__dict__.items() if name not in ("lock", "_value_buffer")}
    state["multipart"] = None  # its parts' bytes are not kept (the local stack makes no multipart uploads)
    buffer = version._value_buffer
    state["_blob"] = (
        buffer.name if isinstance(buffer, BlobFile) and not isinstance(buffer, _EmptyBuffer) else None
    )
    return state


def _blob_names(states: list[dict[str, Any]]) -> set[str]:
    return {state["_blob"] for state in states if state.get("_blob")}


def _dynamodb_backend(region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT][region]


def _s3_backend(region: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT]["aws"]


def data_directory(default: Path) -> Path:
    """``$CLOUDSAVES_DATA_DIR``, else ``default``."""
    return Path(os.environ.get("CLOUDSAVES_DATA_DIR") or default)
