"""cloudsaves: which local files are saves or states, and of which ROM (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudsaves_client.config import Settings
from cloudsaves_client.mapping import RomIndex, classify, download_target, scan

ROMS = [
    {"id": 1, "name": "Chrono Trigger", "fs_name": "Chrono Trigger (USA).sfc"},
    {"id": 2, "name": "Tetris", "fs_name": "Tetris.gb"},
    {"id": 3, "name": "Tetris", "fs_name": "Tetris.nes"},
    {"id": 4, "name": "Metroid", "fs_name": "metroid.gba"},
]


def _touch(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Chrono Trigger (USA).srm", ("save", "Chrono Trigger (USA)")),
        ("pokemon.sav", ("save", "pokemon")),
        ("Game.state", ("state", "Game")),
        ("Game.state3", ("state", "Game")),
        ("Game.state.auto", ("state", "Game")),
        ("Game.ss1", ("state", "Game")),
        ("Game.state.png", None),  # RetroArch's thumbnail of a state
        ("Game.sfc", None),
        ("notes.txt", None),
    ],
)
def test_classify_save_and_state_names(name: str, expected: tuple[str, str] | None) -> None:
    assert classify(name) == expected


def test_retroarch_layout_core_folders_are_emulators_and_hidden_folders_are_skipped(tmp_path: Path) -> None:
    for rel in (
        "saves/snes9x/Chrono Trigger (USA).srm",
        "states/snes9x/Chrono Trigger (USA).state1",
        "saves/flat.srm",
        ".cloudsaves/backups/saves/snes9x/Chrono Trigger (USA).srm.20260101T000000",
        ".hidden/x.srm",
        "saves/snes9x/Chrono Trigger (USA).srm.server-20260101T000000",
    ):
        _touch(tmp_path, rel)

    found = {(f.rel, f.kind, f.emulator) for f in scan(tmp_path, Settings(emulator="retroarch"))}

    assert found == {
        ("saves/snes9x/Chrono Trigger (USA).srm", "save", "snes9x"),
        ("states/snes9x/Chrono Trigger (USA).state1", "state", "snes9x"),
        ("saves/flat.srm", "save", "retroarch"),
    }


def test_ignore_patterns(tmp_path: Path) -> None:
    _touch(tmp_path, "keep.srm")
    _touch(tmp_path, "old/skip.srm")
    assert [f.rel for f in scan(tmp_path, Settings(ignore=["old/*"]))] == ["keep.srm"]


def test_a_save_named_after_a_rom_maps_with_no_configuration(tmp_path: Path) -> None:
    _touch(tmp_path, "Chrono Trigger (USA).srm")
    _touch(tmp_path, "METROID.sav")  # case differs: still one ROM
    index, settings = RomIndex(ROMS), Settings()

    mapped = {m.file.rel: m.rom_id for m in (index.match(f, settings) for f in scan(tmp_path, settings))}

    assert mapped == {"Chrono Trigger (USA).srm": 1, "METROID.sav": 4}


def test_ambiguous_and_unknown_names_are_not_mapped_and_say_why(tmp_path: Path) -> None:
    _touch(tmp_path, "Tetris.srm")
    _touch(tmp_path, "hack.srm")
    index, settings = RomIndex(ROMS), Settings()

    mapped = (index.match(f, settings) for f in scan(tmp_path, settings))
    why = {m.file.rel: (m.rom_id, m.why) for m in mapped}

    assert why["Tetris.srm"][0] is None and "2 (Tetris.gb), 3 (Tetris.nes)" in why["Tetris.srm"][1]
    assert why["hack.srm"][0] is None and "[map]" in why["hack.srm"][1]


def test_config_map_overrides_by_path_name_or_stem(tmp_path: Path) -> None:
    for rel in ("Tetris.srm", "hack.srm", "sub/other.sav"):
        _touch(tmp_path, rel)
    settings = Settings(map={"Tetris": 3, "hack.srm": 4, "sub/other.sav": 1})
    index = RomIndex(ROMS)

    mapped = {m.file.rel: m.rom_id for m in (index.match(f, settings) for f in scan(tmp_path, settings))}

    assert mapped == {"Tetris.srm": 3, "hack.srm": 4, "sub/other.sav": 1}


def test_server_files_get_the_rom_s_name_without_the_slot_tag() -> None:
    index = RomIndex(ROMS)
    assert index.local_name("save", 1, "upload [2026-12-03_08-23-00].srm") == "Chrono Trigger (USA).srm"
    assert index.local_name("save", 99, "Other [2026-12-03_08-23-00].sav") == "Other.sav"  # ROM unknown
    assert index.local_name("state", 1, "Chrono Trigger (USA).state1") == "Chrono Trigger (USA).state1"


def test_download_target_follows_the_folder_layout(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    retroarch = tmp_path / "ra"
    (retroarch / "saves").mkdir(parents=True)
    settings = Settings(emulator="mgba")

    assert download_target(flat, "save", "mgba", "A.srm", settings) == flat / "A.srm"
    assert download_target(flat, "save", "snes9x", "A.srm", settings) == flat / "snes9x" / "A.srm"
    assert download_target(retroarch, "save", "snes9x", "A.srm", settings) == retroarch / "saves/snes9x/A.srm"
    assert download_target(retroarch, "state", None, "A.state", settings) == retroarch / "A.state"
