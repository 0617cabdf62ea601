"""`cloudsaves watch`: sync when the folder has been quiet for a moment after a change (watchdog), and
every `interval` seconds anyway (to fetch what other devices uploaded). Each sync is a full session."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from cloudsaves_client.mapping import CLIENT_FOLDER, classify


class Debouncer:
    """Due once `delay` seconds passed without a new change (an emulator writes a save in bursts)."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self.clock = clock
        self.last_change: float | None = None
        self.lock = threading.Lock()

    def touch(self) -> None:
        with self.lock:
            self.last_change = self.clock()

    def take_if_due(self) -> bool:
        """True (and reset) when changes are pending and the folder has been quiet for `delay`."""
        with self.lock:
            if self.last_change is None or self.clock() - self.last_change < self.delay:
                return False
            self.last_change = None
            return True


def relevant(root: Path, path: str) -> bool:
    """A change worth a sync: a save or state file, outside hidden folders (the client's own included)."""
    try:
        parts = Path(path).resolve().relative_to(root).parts
    except ValueError:
        return False
    return (
        bool(parts)
        and CLIENT_FOLDER not in parts
        and not any(p.startswith(".") for p in parts)
        and (classify(parts[-1]) is not None)
    )


class ChangeHandler(FileSystemEventHandler):
    def __init__(self, root: Path, debouncer: Debouncer) -> None:
        self.root, self.debouncer = root, debouncer

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        if event.event_type == "moved" and any(f"/{CLIENT_FOLDER}/" in p for p in paths):
            return  # the sync's own doing: a verified download renamed in, a deleted file moved to backups
        if any(relevant(self.root, p) for p in paths if p):
            self.debouncer.touch()


def watch(
    root: Path,
    sync_once: Callable[[], None],
    debounce_seconds: float,
    interval_seconds: float,
    stop: threading.Event,
    tick: float = 0.25,
) -> None:
    """Run `sync_once` at start, after each burst of changes, and every `interval_seconds`, until `stop`."""
    root = root.resolve()
    debouncer = Debouncer(debounce_seconds)
    observer = Observer()
    observer.schedule(ChangeHandler(root, debouncer), str(root), recursive=True)
    observer.start()
    try:
        sync_once()
        last_sync = time.monotonic()
        while not stop.wait(tick):
            if debouncer.take_if_due() or time.monotonic() - last_sync >= interval_seconds:
                sync_once()
                last_sync = time.monotonic()
    finally:
        observer.stop()
        observer.join()
