"""cloudsaves watch: a burst of writes is one sync, once the folder is quiet; only save files count."""

from __future__ import annotations

from pathlib import Path

from cloudsaves_client.watch import Debouncer, relevant


def test_debouncer_waits_for_quiet_then_fires_once() -> None:
    now = [100.0]
    debouncer = Debouncer(2.0, clock=lambda: now[0])
    assert not debouncer.take_if_due()  # nothing changed

    debouncer.touch()
    now[0] += 1.5
    debouncer.touch()  # the emulator is still writing
    now[0] += 1.5
    assert not debouncer.take_if_due()  # 1.5 s since the last write
    now[0] += 0.5
    assert debouncer.take_if_due()
    assert not debouncer.take_if_due()  # fired once per burst


def test_only_save_and_state_files_outside_hidden_folders_are_relevant(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert relevant(root, str(root / "saves/snes9x/Game.srm"))
    assert relevant(root, str(root / "Game.state1"))
    assert not relevant(root, str(root / "Game.state.png"))
    assert not relevant(root, str(root / ".cloudsaves/partial/save-5-abc.part"))
    assert not relevant(root, str(root / ".cloudsaves/backups/Game.srm.20261203T000000"))
    assert not relevant(root, str(tmp_path.parent / "elsewhere.srm"))


def test_the_package_installs_the_cloudsaves_console_script() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="cloudsaves")
    assert script.value == "cloudsaves_client.cli:main"


def test_the_sync_s_own_renames_do_not_trigger_another_sync(tmp_path: Path) -> None:
    from watchdog.events import FileModifiedEvent, FileMovedEvent

    from cloudsaves_client.watch import ChangeHandler

    root = tmp_path.resolve()
    debouncer = Debouncer(0.0, clock=lambda: 1.0)
    handler = ChangeHandler(root, debouncer)

    handler.on_any_event(
        FileMovedEvent(str(root / ".cloudsaves/partial/save-1-h.part"), str(root / "Game.srm"))
    )
    handler.on_any_event(FileMovedEvent(str(root / "Game.srm"), str(root / ".cloudsaves/backups/Game.srm.1")))
    assert not debouncer.take_if_due()

    handler.on_any_event(FileModifiedEvent(str(root / "Game.srm")))  # the emulator wrote it
    assert debouncer.take_if_due()
