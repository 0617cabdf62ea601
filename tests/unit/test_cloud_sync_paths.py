"""The RetroArch door's protocol rules: path decoding, the save/state mapping, manifest.server."""

from __future__ import annotations

import json

import pytest

from cloudsaves.errors import BadRequest
from cloudsaves.filenames import fold, fs_name_stem
from cloudsaves.services.cloud_sync_paths import (
    MappedPath,
    destination_path,
    door_path,
    mapped_path,
    parse_manifest,
    render_manifest,
    save_path,
    state_path,
)

# RetroArch 1.20's own manifest after scenario (d) of ../shared/tools/retroarch, byte for byte.
RETROARCH_MANIFEST = (
    b"[\n"
    b'  {\n    "path": "saves/mGBA/Pokemon Emerald.srm",\n    "hash": ""\n  },\n'
    b'  {\n    "path": "saves/Snes9x/Chrono Trigger (USA).srm",\n'
    b'    "hash": "90baabc76a13effb42eafca3e0cfb000"\n  },\n'
    b'  {\n    "path": "states/mGBA/Pokemon Emerald.state",\n'
    b'    "hash": "d0f20062268eb0753fbd1229b65e6cfb"\n  }\n'
    b"]\n"
)


def test_door_path_decodes_retroarchs_encoding_once() -> None:
    assert door_path("/api/cloud-sync/saves/Snes9x/Chrono%20Trigger%20%28USA%29.srm") == (
        "saves/Snes9x/Chrono Trigger (USA).srm"
    )
    assert door_path("/api/cloud-sync/config/100%2525.cfg") == "config/100%25.cfg"  # not twice
    assert door_path("/api/cloud-sync/saves/mGBA") == "saves/mGBA"  # MKCOL has no trailing slash
    assert door_path("/api/cloud-sync/saves/mGBA/") == "saves/mGBA"
    assert door_path("/api/cloud-sync/") == door_path("/api/cloud-sync") == ""
    assert door_path("/api/cloud-sync/saves/%C3%A9t%C3%A9.srm") == "saves/été.srm"


@pytest.mark.parametrize(
    "raw",
    [
        "/api/cloud-sync/../users/1/saves.srm",
        "/api/cloud-sync/saves/%2E%2E/%2E%2E/x.srm",
        "/api/cloud-sync/saves/./x.srm",
        "/api/cloud-sync//etc/passwd",
        "/api/cloud-sync/%2Fetc%2Fpasswd",
        "/api/cloud-sync/saves//x.srm",
        "/api/cloud-sync/saves/x%00.srm",
        "/api/cloud-sync/saves/x%0A.srm",
        "/api/cloud-sync/saves/x%7F.srm",
        "/api/cloud-sync/saves%5C..%5Cx.srm",
        "/api/cloud-sync/saves/%FF.srm",
        "/api/other/x.srm",
        "/api/cloud-sync/" + "a" * 256 + ".srm",
        "/api/cloud-sync/" + "a/" * 600 + "x.srm",
    ],
)
def test_door_path_refuses_hostile_paths(raw: str) -> None:
    with pytest.raises(BadRequest):
        door_path(raw)


def test_destination_path_takes_retroarchs_absolute_url_or_a_path() -> None:
    url = "http://127.0.0.1:8950/api/cloud-sync/deleted/saves/mGBA/Zelda%20%28E%29.srm-261203-071202"
    assert destination_path(url) == "deleted/saves/mGBA/Zelda (E).srm-261203-071202"
    assert destination_path("/api/cloud-sync/saves/b.srm") == "saves/b.srm"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "http://host/elsewhere/x.srm",
        "http://host/api/cloud-sync/",
        "http://host/api/cloud-sync/../x",
        "ftp://host/api/cloud-sync/x.srm",
        "http://host/api/cloud-sync/x.srm?y=1",
        "http://[::1/api/cloud-sync/x.srm",
    ],
)
def test_destination_path_refuses_malformed_headers(header: str | None) -> None:
    with pytest.raises(BadRequest):
        destination_path(header)


def test_mapped_path_names_saves_and_every_state_slot() -> None:
    assert mapped_path("saves/mGBA/Pokemon Emerald.srm") == MappedPath(
        "save", "mGBA", "Pokemon Emerald", "Pokemon Emerald.srm"
    )
    for suffix in (".state", ".state1", ".state12", ".state.auto", ".STATE"):
        mapped = mapped_path(f"states/mGBA/Pokemon Emerald{suffix}")
        assert mapped is not None and mapped.kind == "state" and mapped.stem == "Pokemon Emerald"
        assert mapped.file_name == f"Pokemon Emerald{suffix}"


@pytest.mark.parametrize(
    "path",
    [
        "config/retroarch-core-options.cfg",
        "saves/Pokemon Emerald.srm",  # not in a core folder
        "saves/mGBA/sub/Pokemon Emerald.srm",
        "saves/mGBA/.srm",
        "saves/mGBA/Pokemon Emerald.sav",
        "states/mGBA/Pokemon Emerald.state.bak",
        "deleted/saves/mGBA/Pokemon Emerald.srm-261203-071421",
        "manifest.server",
    ],
)
def test_mapped_path_leaves_everything_else_plain(path: str) -> None:
    assert mapped_path(path) is None


def test_paths_fold_ascii_only_and_stems_drop_one_extension() -> None:
    assert fold("Saves/mGBA/Été.SRM") == "saves/mgba/Été.srm"  # strcasecmp folds ASCII only
    assert fs_name_stem("Pokemon Emerald (USA).gba") == "Pokemon Emerald (USA)"
    assert fs_name_stem("Game.v1.2.zip") == "Game.v1.2"
    assert fs_name_stem("README") == "README"
    assert save_path("mGBA", "X") == "saves/mGBA/X.srm" and save_path(None, "X") == "saves/X.srm"
    assert state_path("a/b", "X.state") == "states/a-b/X.state"


def test_render_manifest_is_byte_for_byte_what_retroarch_writes() -> None:
    rows = [
        ("states/mGBA/Pokemon Emerald.state", "d0f20062268eb0753fbd1229b65e6cfb"),
        ("saves/Snes9x/Chrono Trigger (USA).srm", "90baabc76a13effb42eafca3e0cfb000"),
        ("saves/mGBA/Pokemon Emerald.srm", ""),
    ]
    assert render_manifest(rows) == RETROARCH_MANIFEST
    assert render_manifest([]) == b"[\n\n]\n"


def test_render_manifest_sorts_like_strcasecmp() -> None:
    rendered = json.loads(render_manifest([("b", ""), ("A_", ""), ("a", ""), ("B", "")]))
    # strcasecmp compares lower-cased bytes: "a" < "a_" < "b" (ties keep their order)
    assert [row["path"] for row in rendered] == ["a", "A_", "b", "B"]
    assert all(set(row) == {"path", "hash"} for row in rendered)


def test_parse_manifest_reads_retroarchs_and_refuses_garbage() -> None:
    assert parse_manifest(RETROARCH_MANIFEST) == {
        "saves/mgba/pokemon emerald.srm": "",
        "saves/snes9x/chrono trigger (usa).srm": "90baabc76a13effb42eafca3e0cfb000",
        "states/mgba/pokemon emerald.state": "d0f20062268eb0753fbd1229b65e6cfb",
    }
    assert parse_manifest(b'[{"path": "a/b", "hash": null}]') == {"a/b": ""}
    for garbage in (
        b"",
        b"\xff\xfe",
        b"not json",
        b'{"path": "a"}',
        b'[{"hash": "d41d8cd98f00b204e9800998ecf8427e"}]',
        b'[{"path": "a", "hash": "xyz"}]',
        b'[{"path": "a", "hash": 5}]',
        b'[{"path": "../a", "hash": ""}]',
        b"[1]",
    ):
        with pytest.raises(BadRequest):
            parse_manifest(garbage)
