"""Progress bars (rich): one bar per file being moved, and one for the whole sync."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Reporter(Protocol):
    def file(self, label: str, total: int) -> FileProgress: ...


class FileProgress(Protocol):
    def update(self, done: int) -> None:
        """`done` bytes of this file are through (absolute: a retry may move it back)."""

    def finish(self, ok: bool) -> None: ...


class SilentReporter:
    """No bars (unit tests, `--quiet`); still records what a bar would have shown."""

    def __init__(self) -> None:
        self.files: dict[str, list[int]] = {}

    def file(self, label: str, total: int) -> FileProgress:
        updates = self.files.setdefault(label, [])
        return _SilentFile(updates)


class _SilentFile:
    def __init__(self, updates: list[int]) -> None:
        self.updates = updates

    def update(self, done: int) -> None:
        self.updates.append(done)

    def finish(self, ok: bool) -> None:
        pass


class BarReporter:
    """rich's live bars on `console` (stderr by default: stdout stays the summary)."""

    def __init__(self, console: Console, total_bytes: int, files: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", justify="left", markup=False),
            BarColumn(bar_width=None),
            TextColumn("{task.percentage:>3.0f}%"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.overall = self.progress.add_task(f"total ({files} files)", total=max(total_bytes, 1))

    def __enter__(self) -> BarReporter:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def file(self, label: str, total: int) -> FileProgress:
        return _BarFile(self, self.progress.add_task(label, total=max(total, 1)))


class _BarFile:
    def __init__(self, owner: BarReporter, task: TaskID) -> None:
        self.owner = owner
        self.task = task
        self.done = 0

    def update(self, done: int) -> None:
        self.owner.progress.update(self.task, completed=done)
        self.owner.progress.advance(self.owner.overall, done - self.done)
        self.done = done

    def finish(self, ok: bool) -> None:
        if not ok:
            task = self.owner.progress.tasks[self.task]
            self.owner.progress.update(self.task, description=f"{task.description} (failed)")
