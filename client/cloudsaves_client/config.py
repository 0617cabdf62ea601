"""Where the client keeps its files: the config directory (credentials, settings, per-folder sync state).

`CLOUDSAVES_CONFIG_DIR` moves it (two devices on one machine are two config directories); otherwise it is
the platform's user config directory (platformdirs: ~/.config/cloudsaves on Linux).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tomllib
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from cloudsaves_client.errors import DiskError, NotLoggedIn, UsageError

CONFIG_ENV = "CLOUDSAVES_CONFIG_DIR"
CREDENTIALS_FILE = "credentials.json"
SETTINGS_FILE = "config.toml"
IDENTITY_FILE = "device-identifier"

DEFAULT_SETTINGS = """\
# cloudsaves settings (the Cloud Saves README: "Sync your emulator").
# The folder `cloudsaves sync` and `watch` use when none is given.
# dir = "~/.config/retroarch"

# The slot every save file goes to (RetroArch's Cloud Sync door uses "autosave" too).
slot = "autosave"

# The emulator named for files that are not in a per-core folder (saves/<core>/, states/<core>/).
# emulator = "mgba"

# Seconds `watch` waits for the folder to be quiet before it syncs.
debounce_seconds = 2.0

# File names (or name stems) -> ROM ids, for files not named after a ROM's file name.
[map]
# "pokemon-hack.srm" = 1234

# Glob patterns of files never synced.
# [ignore]
# patterns = ["*.bak"]
"""


def config_dir() -> Path:
    configured = os.environ.get(CONFIG_ENV)
    return Path(configured).expanduser() if configured else Path(platformdirs.user_config_dir("cloudsaves"))


def write_private(path: Path, text: str) -> None:
    """Write `text` atomically to a file only its owner can read (0600), in a 0700 directory."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise DiskError(f"cannot write {path}: {error.strerror or error}") from error


@dataclass
class Credentials:
    """What `login` stores: the server, a device-bound client token, and the device it is bound to."""

    url: str
    token: str
    device_id: str
    device_name: str
    username: str | None = None

    @classmethod
    def load(cls, directory: Path | None = None) -> Credentials:
        path = (directory or config_dir()) / CREDENTIALS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{k: data.get(k) for k in ("url", "token", "device_id", "device_name", "username")})
        except FileNotFoundError:
            raise NotLoggedIn() from None
        except (ValueError, TypeError) as error:
            raise UsageError(f"{path} is damaged ({error})", "run: cloudsaves login URL") from error

    def save(self, directory: Path | None = None) -> Path:
        path = (directory or config_dir()) / CREDENTIALS_FILE
        write_private(path, json.dumps(asdict(self), indent=2) + "\n")
        return path


def device_identifier(directory: Path | None = None) -> str:
    """A random identifier made once per config directory: the device's `client_device_identifier`."""
    path = (directory or config_dir()) / IDENTITY_FILE
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(encoding="utf-8").strip()
    identifier = f"cloudsaves-{uuid.uuid4()}"
    write_private(path, identifier + "\n")
    return identifier


@dataclass
class Settings:
    """config.toml: small, optional, hand-edited."""

    dir: Path | None = None
    slot: str = "autosave"
    emulator: str | None = None
    debounce_seconds: float = 2.0
    map: dict[str, int] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    path: Path | None = None

    @classmethod
    def load(cls, directory: Path | None = None) -> Settings:
        path = (directory or config_dir()) / SETTINGS_FILE
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path=path)
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{path}: {error}", "fix the file or delete it to use the defaults") from error
        try:
            return cls(
                dir=Path(data["dir"]).expanduser() if data.get("dir") else None,
                slot=str(data.get("slot") or "autosave"),
                emulator=str(data["emulator"]) if data.get("emulator") else None,
                debounce_seconds=float(data.get("debounce_seconds", 2.0)),
                map={str(name): int(rom_id) for name, rom_id in data.get("map", {}).items()},
                ignore=[str(p) for p in data.get("ignore", {}).get("patterns", [])],
                path=path,
            )
        except (TypeError, ValueError, AttributeError) as error:
            raise UsageError(f"{path}: {error}", "see the comments in a fresh config.toml") from error

    @staticmethod
    def write_default(directory: Path | None = None) -> Path:
        path = (directory or config_dir()) / SETTINGS_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(DEFAULT_SETTINGS, encoding="utf-8")
        return path


@dataclass
class SyncedFile:
    """What this device last agreed with the server about one local file."""

    kind: str  # "save" or "state"
    rom_id: int
    slot: str | None
    emulator: str | None
    content_hash: str
    server_id: int | None
    synced_at: str


@dataclass
class FolderState:
    """Per (config directory, synced folder): the files as of the last sync, keyed by relative path.

    It is what tells a deleted file from one never synced, and a local edit from an untouched file.
    """

    root: Path
    files: dict[str, SyncedFile] = field(default_factory=dict)
    last_sync: str | None = None
    path: Path | None = None

    @classmethod
    def load(cls, root: Path, directory: Path | None = None) -> FolderState:
        root = root.resolve()
        digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        path = (directory or config_dir()) / "folders" / f"{digest}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return cls(root=root, path=path)
        files = {rel: SyncedFile(**entry) for rel, entry in data.get("files", {}).items()}
        return cls(root=root, files=files, last_sync=data.get("last_sync"), path=path)

    def save(self) -> None:
        assert self.path is not None
        data = {
            "root": str(self.root),
            "last_sync": self.last_sync,
            "files": {rel: asdict(entry) for rel, entry in sorted(self.files.items())},
        }
        write_private(self.path, json.dumps(data, indent=1) + "\n")

    @staticmethod
    def all(directory: Path | None = None) -> list[dict[str, Any]]:
        """Every folder this config directory has synced (for `status`)."""
        folders = []
        for path in sorted(((directory or config_dir()) / "folders").glob("*.json")):
            with contextlib.suppress(ValueError, OSError):
                folders.append(json.loads(path.read_text(encoding="utf-8")))
        return folders
