from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cloudsaves.filenames import (
    InvalidFileName,
    InvalidPathSegment,
    NameParts,
    apply_slot_tag,
    sanitize_file_name,
    sanitize_segment,
    slot_tag_moment,
    split_name,
)

WHEN = datetime(2024, 3, 5, 6, 7, 8, 999_999, tzinfo=UTC)
TAG = "[2024-03-05_06-07-08]"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pokemon.srm", "pokemon.srm"),
        ("Pokémon Rot (Germany).srm", "Pokémon Rot (Germany).srm"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path/save.srm", "save.srm"),
        ("C:\\Users\\me\\pokemon.srm", "pokemon.srm"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("a/b\\c.srm", "c.srm"),
        # RomM's rules: \ / : | become "-", * ? " < > are dropped
        ("Zelda: Link|Past.srm", "Zelda- Link-Past.srm"),
        ('<a>*?"b.srm', "ab.srm"),
        ("po\x00ke\x1fmon\x7f\x85.srm", "pokemon.srm"),
        ("line\r\nbreak.srm", "linebreak.srm"),
        ("  padded.srm  ", "padded.srm"),
        ("trailing.srm. . .", "trailing.srm"),
        (".hidden", ".hidden"),
        ("...dots in front", "...dots in front"),
    ],
)
def test_sanitize_file_name_cleans(raw: str, expected: str):
    assert sanitize_file_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", ".", "..", "...", ". .", "dir/", "../", "..\\", "<>?*", "\x00", "a/.."]
)
def test_sanitize_file_name_rejects_unusable(raw: str):
    with pytest.raises(InvalidFileName):
        sanitize_file_name(raw)


def test_sanitize_file_name_limit_is_255_utf8_bytes():
    assert sanitize_file_name("a" * 251 + ".srm") == "a" * 251 + ".srm"
    with pytest.raises(InvalidFileName, match="255 bytes"):
        sanitize_file_name("a" * 252 + ".srm")
    with pytest.raises(InvalidFileName):
        sanitize_file_name("é" * 128)  # 128 characters, 256 bytes


def test_invalid_file_name_is_a_value_error():
    assert issubclass(InvalidFileName, ValueError)
    assert issubclass(InvalidPathSegment, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mupen64plus", "mupen64plus"),
        ("RetroArch mGBA", "RetroArch mGBA"),
        ("../../x", "..-..-x"),
        ("a\\b/c", "a-b-c"),
        ("slot\x00one", "slotone"),
        (" quick save ", "quick save"),
        ("auto.", "auto"),
        ("/", "-"),
    ],
)
def test_sanitize_segment_cleans(value: str, expected: str):
    assert sanitize_segment(value) == expected


@pytest.mark.parametrize("value", ["", "  ", ".", "..", "...", ". . .", "\x00", "\x00..", '*?"<>', "é" * 128])
def test_sanitize_segment_rejects_unusable(value: str):
    with pytest.raises(InvalidPathSegment):
        sanitize_segment(value)


@pytest.mark.parametrize(
    "value",
    ["../..", "..%2f", "../", "/..", "\\..", "a/../b", "..\x00", ". /.", "x\n/..", "C:\\..", "..|..", "./"],
)
def test_sanitize_segment_never_yields_a_separator_or_dot_segment(value: str):
    try:
        segment = sanitize_segment(value)
    except InvalidPathSegment:
        segment = None  # refusing is safe too

    assert segment is None or not ({"/", "\\", "\x00"} & set(segment) or segment in (".", ".."))


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("pokemon.srm", f"pokemon {TAG}.srm"),
        ("pokemon [2024-01-01_10-00-00].srm", f"pokemon {TAG}.srm"),
        ("pokemon[2024-01-01_10-00-00].srm", f"pokemon {TAG}.srm"),
        ("pokemon [2023-01-01_00-00-00] [2024-01-01_10-00-00].srm", f"pokemon {TAG}.srm"),
        ("pokemon", f"pokemon {TAG}"),
        ("game.v2.srm", f"game.v2 {TAG}.srm"),
        ("Pokemon (USA) [!].srm", f"Pokemon (USA) [!] {TAG}.srm"),
        ("save [not-a-date].srm", f"save [not-a-date] {TAG}.srm"),
    ],
)
def test_apply_slot_tag(file_name: str, expected: str):
    assert apply_slot_tag(file_name, WHEN) == expected


def test_apply_slot_tag_twice_replaces_rather_than_doubles():
    later = WHEN + timedelta(days=1)

    tagged = apply_slot_tag(apply_slot_tag("pokemon.srm", WHEN), later)

    assert tagged == "pokemon [2024-03-06_06-07-08].srm"


def test_apply_slot_tag_writes_utc():
    cest = timezone(timedelta(hours=2))

    assert (
        apply_slot_tag("a.srm", datetime(2024, 3, 5, 1, 0, 0, tzinfo=cest)) == "a [2024-03-04_23-00-00].srm"
    )


def test_apply_slot_tag_rejects_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_slot_tag("a.srm", datetime(2024, 3, 5, 6, 7, 8))


def test_apply_slot_tag_rejects_a_name_too_long_once_tagged():
    with pytest.raises(InvalidFileName):
        apply_slot_tag("a" * 240 + ".srm", WHEN)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        # RomM backend/tests/models/test_base.py, test_compute_file_name_parts and the validator tests
        ("Sonic (USA) [!].md", ("Sonic", "Sonic (USA) [!]", "md")),
        ("game.tar.gz", ("game", "game", "tar.gz")),
        ("README", ("README", "README", "")),
        ("Final Fantasy VII (Disc 1).bin", ("Final Fantasy VII", "Final Fantasy VII (Disc 1)", "bin")),
        (
            "The Legend of Zelda (USA) (Rev 1).z64",
            ("The Legend of Zelda", "The Legend of Zelda (USA) (Rev 1)", "z64"),
        ),
        ("Sonic [!] (proto).srm", ("Sonic", "Sonic [!] (proto)", "srm")),
        ("bios (world).bin", ("bios", "bios (world)", "bin")),
        # slot-tagged names and RomM's regex corners
        ("pokemon [2024-01-01_10-00-00].srm", ("pokemon", "pokemon [2024-01-01_10-00-00]", "srm")),
        ("Hello (World) Game.srm", ("Hello (World) Game", "Hello (World) Game", "srm")),
        ("GAME.SRM", ("GAME", "GAME", "SRM")),
        ("Game v1.2.srm", ("Game v1.2", "Game v1.2", "srm")),
        ("save.state.auto", ("save", "save", "state.auto")),
    ],
)
def test_split_name_matches_romm(file_name: str, expected: tuple[str, str, str]):
    assert split_name(file_name) == NameParts(*expected)


@pytest.mark.parametrize(
    ("file_name", "moment"),
    [
        ("zelda [2025-03-04_05-06-07].sav", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("zelda (USA) [2025-03-04_05-06-07]", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("zelda.sav", None),
        ("zelda [2025-03-04_05-06-07] copy.sav", None),  # not at the end of the stem: not our tag
        ("zelda[2025-03-04_05-06-07].sav", None),
        ("zelda [2025-13-45_25-61-61].sav", None),  # shaped like a tag, names no moment
    ],
)
def test_slot_tag_moment_reads_back_what_apply_slot_tag_wrote(file_name: str, moment: datetime | None):
    assert slot_tag_moment(file_name) == moment


def test_slot_tag_moment_round_trips_apply_slot_tag():
    when = datetime(2026, 12, 3, 8, 45, 1, 999_000, tzinfo=UTC)

    assert slot_tag_moment(apply_slot_tag("pokemon.srm", when)) == when.replace(microsecond=0)
