"""Which local files are saves or states, and of which ROM.

A file maps to the ROM whose `fs_name` stem is the file's stem (`Chrono Trigger (USA).srm` ->
`Chrono Trigger (USA).sfc`), with no configuration; `[map]` in config.toml names the ROM of any other
file. RetroArch's layout is understood as it is: `saves/<core>/<game>.srm`, `states/<core>/<game>.state1`
(the core folder is the emulator), and flat folders work too.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudsaves_client.config import Settings

SAVE_EXTENSIONS = frozenset({".srm", ".sav", ".sra", ".eep", ".fla", ".mcr", ".mpk", ".dsv", ".brm", ".nv"})
# RetroArch: .state, .state1..N, .state.auto; mGBA: .ss0..9.
_STATE_SUFFIX = re.compile(r"(\.state(\d+|\.auto)?|\.ss\d)$", re.IGNORECASE)
_SLOT_TAG = re.compile(r" ?\[\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\]")
LAYOUT_FOLDERS = {"save": "saves", "state": "states"}
# The client's own folder inside a synced folder: partial downloads and backups, never synced.
CLIENT_FOLDER = ".cloudsaves"


@dataclass(frozen=True)
class LocalFile:
    path: Path
    rel: str  # relative to the synced folder, with forward slashes
    kind: str  # "save" or "state"
    stem: str  # the name without the save/state suffix: what is matched against ROM fs_name stems
    emulator: str | None


@dataclass(frozen=True)
class Mapped:
    file: LocalFile
    rom_id: int | None
    why: str  # how it was matched, or why not


def classify(name: str) -> tuple[str, str] | None:
    """("save" | "state", stem) for a save or state file name; None for anything else."""
    state = _STATE_SUFFIX.search(name)
    if state:
        return "state", name[: state.start()]
    suffix = Path(name).suffix.lower()
    if suffix in SAVE_EXTENSIONS:
        return "save", name[: -len(suffix)]
    return None


def scan(root: Path, settings: Settings) -> list[LocalFile]:
    """Every save and state file under `root`, hidden folders (and the client's own) left out."""
    files = []
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts) or not path.is_file():
            continue
        classified = classify(path.name)
        rel = "/".join(rel_parts)
        if classified is None or any(
            fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(path.name, p) for p in settings.ignore
        ):
            continue
        kind, stem = classified
        files.append(LocalFile(path, rel, kind, stem, _emulator(rel_parts, settings)))
    return files


def _emulator(rel_parts: tuple[str, ...], settings: Settings) -> str | None:
    folders = list(rel_parts[:-1])
    if folders and folders[0].lower() in LAYOUT_FOLDERS.values():
        folders = folders[1:]
    return folders[0] if folders else settings.emulator


def strip_slot_tag(file_name: str) -> str:
    """`Game [2026-12-03_08-23-00].srm` -> `Game.srm` (the server tags every slot upload)."""
    return _SLOT_TAG.sub("", file_name)


def rom_stem(fs_name: str) -> str:
    return fs_name.rsplit(".", 1)[0] if "." in fs_name else fs_name


class RomIndex:
    """The catalog, indexed by `fs_name` stem (exact first, then ignoring case)."""

    def __init__(self, roms: list[dict[str, Any]]) -> None:
        self.by_id = {int(rom["id"]): rom for rom in roms}
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._folded: dict[str, list[int]] = defaultdict(list)
        for rom in roms:
            stem = rom_stem(str(rom.get("fs_name") or ""))
            if stem:
                self._exact[stem].append(int(rom["id"]))
                self._folded[stem.casefold()].append(int(rom["id"]))

    def match(self, file: LocalFile, settings: Settings) -> Mapped:
        for key in (file.rel, file.path.name, file.stem):
            if key in settings.map:
                return Mapped(file, settings.map[key], f"config [map] {key!r}")
        for index, key in ((self._exact, file.stem), (self._folded, file.stem.casefold())):
            ids = index.get(key, [])
            if len(ids) == 1:
                return Mapped(file, ids[0], f"named like {self.by_id[ids[0]]['fs_name']}")
            if len(ids) > 1:
                names = ", ".join(f"{i} ({self.by_id[i]['fs_name']})" for i in ids)
                return Mapped(file, None, f"several ROMs: {names}; pick one in [map]")
        return Mapped(file, None, "no ROM named like it: add it to [map]")

    def local_name(self, kind: str, rom_id: int, server_file_name: str) -> str:
        """The file name a server save or state gets on this device."""
        if kind == "state":
            return server_file_name
        untagged = strip_slot_tag(server_file_name)
        rom = self.by_id.get(rom_id)
        suffix = Path(untagged).suffix
        return f"{rom_stem(str(rom['fs_name']))}{suffix}" if rom and rom.get("fs_name") else untagged


def download_target(root: Path, kind: str, emulator: str | None, file_name: str, settings: Settings) -> Path:
    """Where a server file this device does not have yet goes: RetroArch's layout when the folder has
    it (`saves/<core>/`), else beside the others (a per-emulator folder unless it is the default one)."""
    base = root / LAYOUT_FOLDERS[kind] if (root / LAYOUT_FOLDERS[kind]).is_dir() else root
    if emulator and emulator != settings.emulator:
        base = base / emulator
    return base / file_name
