"""`cloudsaves sync`: one negotiate, then every transfer directly to or from S3, then the session closed.

The exit code says whether everything planned was done (errors.ExitCode). A run stopped by a network
failure is resumed by running it again: the next negotiate plans only what is left, and a half-done
download continues from its `.part` file.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from cloudsaves_client import transfer
from cloudsaves_client.api import Api, storage_session
from cloudsaves_client.config import Credentials, FolderState, Settings, SyncedFile
from cloudsaves_client.errors import (
    ApiError,
    AuthError,
    ClientError,
    DiskError,
    ExitCode,
    Offline,
    ServerError,
)
from cloudsaves_client.files import (
    backup_path,
    digest,
    move_to_backup,
    mtime_iso,
    replace_file,
    set_mtime,
)
from cloudsaves_client.mapping import CLIENT_FOLDER, RomIndex, scan
from cloudsaves_client.plan import Action, Conflict, LocalEntry, Planner, Prefer, key_of
from cloudsaves_client.progress import Reporter, SilentReporter

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    """What a sync did; `exit_code` is the verdict."""

    session_id: int | None = None
    done: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    in_sync: int = 0
    fatal: ClientError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if self.fatal is not None:
            return self.fatal.exit_code
        if self.failed:
            return ExitCode.FAILED
        return ExitCode.CONFLICT if self.conflicts else ExitCode.OK


@dataclass
class Local:
    entries: dict[tuple[Any, ...], LocalEntry]
    unmapped: list[str]
    deleted_saves: list[dict[str, Any]]


def collect(root: Path, settings: Settings, roms: RomIndex, folder: FolderState) -> Local:
    """The folder's mapped files (one per save slot / state file), what could not be mapped, and the
    save slots whose file was deleted here since the last sync."""
    entries: dict[tuple[Any, ...], LocalEntry] = {}
    unmapped = []
    for mapped in (roms.match(f, settings) for f in scan(root, settings)):
        if mapped.rom_id is None:
            unmapped.append(f"{mapped.file.rel}: {mapped.why}")
            continue
        file = mapped.file
        try:
            file_digest = digest(file.path)
        except OSError as error:
            unmapped.append(f"{file.rel}: cannot read it ({error.strerror})")
            continue
        if file_digest.size == 0:
            unmapped.append(f"{file.rel}: empty")
            continue
        slot = settings.slot if file.kind == "save" else None
        entry = LocalEntry(file, mapped.rom_id, slot, file_digest, mtime_iso(file.path))
        other = entries.get(key_of(entry))
        if other is not None:
            unmapped.append(f"{file.rel}: same ROM and slot as {other.file.rel} (only one is synced)")
            continue
        entries[key_of(entry)] = entry
    present = {entry.file.rel for entry in entries.values()}
    deleted = [
        {"rom_id": synced.rom_id, "slot": synced.slot}
        for rel, synced in folder.files.items()
        if synced.kind == "save" and synced.slot and rel not in present and not (root / rel).exists()
    ]
    return Local(entries, unmapped, deleted)


class Sync:
    def __init__(
        self,
        credentials: Credentials,
        settings: Settings,
        root: Path,
        *,
        config_directory: Path | None = None,
        api: Api | None = None,
        storage: requests.Session | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.credentials = credentials
        self.settings = settings
        self.root = root.resolve()
        self.api = api or Api(credentials.url, credentials.token)
        self.storage = storage or storage_session()
        self.clock = clock
        self.folder = FolderState.load(self.root, config_directory)
        self.backups: list[Path] = []

    # --- the run ----------------------------------------------------------------------------------

    def run(
        self,
        prefer: Prefer | None = None,
        bars: Callable[[int, int], AbstractContextManager[Reporter]] | None = None,
    ) -> Outcome:
        """Negotiate, move, close the session. `bars(total_bytes, files)` makes the progress display."""
        outcome = Outcome()
        if not self.root.is_dir():
            outcome.fatal = ClientError(f"{self.root} is not a folder")
            return outcome
        roms = RomIndex(self.api.roms())
        local = collect(self.root, self.settings, roms, self.folder)
        outcome.unmapped = local.unmapped
        answer = self._negotiate(local)
        outcome.session_id = int(answer["session_id"])
        now = self.clock().isoformat()
        plan = Planner(self.root, self.settings, roms, self.folder, local.entries, prefer, now).build(answer)
        outcome.conflicts = list(plan.conflicts)
        outcome.in_sync = len(plan.agreed)
        self.folder.files.update(plan.agreed)
        for rel in plan.forgotten:
            self.folder.files.pop(rel, None)
        self._forget_deleted_slots(local.deleted_saves)  # the server keeps their tombstones now
        try:
            self._execute(plan.actions, outcome, bars)
        finally:
            self._close(outcome)
        return outcome

    def _forget_deleted_slots(self, deleted: list[dict[str, Any]]) -> None:
        slots = {(d["rom_id"], d["slot"]) for d in deleted}
        for rel, synced in list(self.folder.files.items()):
            if synced.kind == "save" and (synced.rom_id, synced.slot) in slots:
                del self.folder.files[rel]

    def _negotiate(self, local: Local) -> dict[str, Any]:
        entries = list(local.entries.values())
        body: dict[str, Any] = {
            "device_id": self.credentials.device_id,
            "saves": [e.manifest() for e in entries if e.kind == "save"],
            "states": [e.manifest() for e in entries if e.kind == "state"],
            # Always sent, even empty: it also asks for the `delete` of slots other devices deleted.
            "deleted": local.deleted_saves,
        }
        try:
            return self.api.negotiate(body)
        except ApiError as error:
            if error.status == 404 and "Device" in str(error.detail):
                raise ClientError(
                    f"the server no longer knows this device ({error.detail})",
                    f"log in again: cloudsaves login {self.credentials.url}",
                ) from error
            if error.status in (404, 405):
                raise ServerError(
                    f"{self.credentials.url} has no sync protocol "
                    f"(POST /api/sync/negotiate answered {error.status})",
                    "the server must implement RomM 5.2's /api/sync (API.md section 10)",
                ) from error
            raise

    def _execute(
        self,
        actions: list[Action],
        outcome: Outcome,
        bars: Callable[[int, int], AbstractContextManager[Reporter]] | None,
    ) -> None:
        sized: list[tuple[Action, int, dict[str, Any] | None]] = []
        for action in actions:  # download links first: their sizes make the overall bar
            link = None
            if action.do in ("download", "keep_both") and action.server_id is not None:
                try:
                    link = self.api.download_url(action.kind, action.server_id)
                except (ApiError, ServerError) as error:
                    outcome.failed.append((action, error.message))
                    continue
            size = (link["file_size_bytes"] if link else 0) + (
                action.local.digest.size if action.local and action.do in ("upload", "keep_both") else 0
            )
            sized.append((action, size, link))
        total = sum(size for _, size, _ in sized)
        display = bars(total, len(sized)) if bars else nullcontext(SilentReporter())
        with display as reporter:
            for index, (action, _size, link) in enumerate(sized):
                try:
                    self._one(action, link, reporter)
                    outcome.done.append(action)
                except (Offline, DiskError, AuthError) as error:  # the rest would fail the same way: stop
                    outcome.fatal = error
                    outcome.failed.append((action, error.message))
                    outcome.failed.extend((a, "not attempted") for a, _, _ in sized[index + 1 :])
                    return
                except ApiError as error:
                    if error.status == 409:  # the server's atomic guard: someone else wrote first
                        outcome.conflicts.append(
                            Conflict(
                                action.kind,
                                action.rel,
                                action.op["rom_id"],
                                str(error.detail),
                                action.op.get("server_updated_at"),
                                action.local.updated_at if action.local else None,
                            )
                        )
                    else:
                        outcome.failed.append((action, error.message))
                except ClientError as error:
                    outcome.failed.append((action, error.message))

    def _one(self, action: Action, link: dict[str, Any] | None, reporter: Reporter) -> None:
        if action.do == "upload":
            self._upload(action, reporter, overwrite=action.overwrite)
        elif action.do == "download":
            assert link is not None
            self._download(action, link, reporter, beside=False)
        elif action.do == "keep_both":
            assert link is not None
            self._download(action, link, reporter, beside=True)
            self._upload(action, reporter, overwrite=True)
        elif action.do == "delete_local":
            backup = backup_path(self.root, action.rel, self.clock())
            move_to_backup(action.path, backup)
            self.folder.files.pop(action.rel, None)
        elif action.do == "delete_server":
            assert action.server_id is not None
            self.api.delete_states([action.server_id])
            self.folder.files.pop(action.rel, None)

    def _upload(self, action: Action, reporter: Reporter, overwrite: bool) -> None:
        local = action.local
        assert local is not None
        body: dict[str, Any] = {
            **local.manifest(),
            "content_md5": local.digest.md5_base64,
        }
        body.pop("content_hash")
        body.pop("updated_at")
        if action.kind == "save":
            body.update(device_id=self.credentials.device_id, overwrite=overwrite)
        progress = reporter.file(f"↑ {action.rel}", local.digest.size)
        try:
            record = transfer.upload(
                self.api, self.storage, action.kind, body, local.file.path, local.digest, progress
            )
        except ClientError:
            progress.finish(False)
            raise
        progress.finish(True)
        self._remember(action, local.digest.content_hash, int(record["id"]))

    def _download(self, action: Action, link: dict[str, Any], reporter: Reporter, beside: bool) -> None:
        size, content_hash = int(link["file_size_bytes"]), link.get("content_hash")
        part = self.root / CLIENT_FOLDER / "partial" / f"{action.kind}-{action.server_id}-{content_hash}.part"
        label = f"↓ {action.rel}" + (" (server copy)" if beside else "")
        progress = reporter.file(label, size)

        def url_for(refresh: bool) -> str:
            fresh = self.api.download_url(action.kind, action.server_id) if refresh else link  # type: ignore[arg-type]
            return str(fresh["url"])

        try:
            transfer.download(self.storage, url_for, part, size, content_hash, progress)
        except ClientError:
            progress.finish(False)
            raise
        progress.finish(True)
        set_mtime(part, action.op.get("server_updated_at"))
        if beside:  # --prefer both: the server's copy next to the local file, which stays as it is
            stamp = self.clock().strftime("%Y%m%dT%H%M%S")
            replace_file(part, action.path.with_name(f"{action.path.name}.server-{stamp}"), None)
            return
        made = replace_file(part, action.path, backup_path(self.root, action.rel, self.clock()))
        if made is not None:
            self.backups.append(made)
        if action.kind == "save" and action.server_id is not None:
            self.api.confirm_download(action.server_id, self.credentials.device_id)
        self._remember(action, content_hash or digest(action.path).content_hash, action.server_id)

    def _remember(self, action: Action, content_hash: str, server_id: int | None) -> None:
        rom_id = int(action.op["rom_id"])
        slot = action.local.slot if action.local else action.op.get("slot")
        emulator = action.local.file.emulator if action.local else action.op.get("emulator")
        self.folder.files[action.rel] = SyncedFile(
            action.kind, rom_id, slot, emulator, content_hash, server_id, self.clock().isoformat()
        )

    def _close(self, outcome: Outcome) -> None:
        outcome.backups = list(self.backups)
        if outcome.exit_code in (ExitCode.OK, ExitCode.CONFLICT):
            self.folder.last_sync = self.clock().isoformat()
        try:
            self.folder.save()
        except DiskError as error:
            outcome.fatal = outcome.fatal or error
        if outcome.session_id is None or isinstance(outcome.fatal, (Offline, AuthError)):
            return
        try:
            self.api.complete_session(
                outcome.session_id, len(outcome.done), len(outcome.failed) + len(outcome.conflicts)
            )
        except ApiError as error:  # e.g. another sync of this device cancelled it: the work is done
            outcome.warnings.append(f"the sync session was not closed: {error.detail}")
        except ClientError as error:
            outcome.fatal = outcome.fatal or error
