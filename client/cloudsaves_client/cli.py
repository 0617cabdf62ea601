"""The `cloudsaves` command line."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cloudsaves_client import __version__, login
from cloudsaves_client.api import Api, checked_url
from cloudsaves_client.config import Credentials, FolderState, Settings, config_dir
from cloudsaves_client.errors import ApiError, ClientError, ExitCode, UsageError
from cloudsaves_client.mapping import RomIndex, rom_stem, scan
from cloudsaves_client.progress import BarReporter, Reporter
from cloudsaves_client.sync import Outcome, Sync

EXIT_CODES = """exit codes:
  0  everything planned was done          4  the server or the storage is unreachable
  1  some transfers failed (rerun)        5  conflicts left alone: choose with --prefer
  2  bad usage, or not logged in          6  disk full or a local file not writable
  3  token expired or revoked: login      7  the server answered an error
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudsaves",
        description="Keep an emulator's save folder in sync with a Cloud Saves server.",
        epilog=EXIT_CODES + "\nThe config lives in $CLOUDSAVES_CONFIG_DIR, else the user config directory.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cloudsaves {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("login", help="pair this device with a server (or log in with a password)")
    p.add_argument("url", help="the server's base URL, e.g. https://saves.example.com")
    p.add_argument("--username", help="log in with this user's password instead of pairing")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--device-name", help="this device's name on the server (default: the host name)")

    p = commands.add_parser("map", help="show which local files map to which ROMs")
    p.add_argument("dir", nargs="?", type=Path)
    p.add_argument("--write-config", action="store_true", help="write a commented config.toml to edit")

    for name, text in (("sync", "sync the folder once"), ("watch", "sync whenever the folder changes")):
        p = commands.add_parser(name, help=text)
        p.add_argument("dir", nargs="?", type=Path, help="the save folder (default: `dir` in config.toml)")
        p.add_argument("--prefer", choices=("local", "server", "both"), help="how to resolve conflicts")
        p.add_argument(
            "--progress", choices=("auto", "always", "never"), default="auto", help="progress bars"
        )
        if name == "watch":
            p.add_argument("--interval", type=float, default=60.0, help="seconds between syncs anyway (60)")

    commands.add_parser("status", help="this device, its folders and its last syncs")
    commands.add_parser("history", help="a game's saves and states on the server").add_argument(
        "game", help="a ROM id, or part of its name or file name"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # No markup: file names like "Game [2026-...].srm" are text, not style tags.
    out, err = Console(highlight=False, markup=False), Console(stderr=True, highlight=False, markup=False)
    try:
        return int(COMMANDS[args.command](args, out, err))
    except ClientError as error:
        err.print(Text.assemble(("error: ", "red"), error.message))
        if error.hint:
            err.print(f"  {error.hint}")
        return int(error.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again to resume")
        return int(ExitCode.INTERRUPTED)


# --- login ----------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    checked_url(args.url)
    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    if args.username:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif sys.stdin.isatty():
            password = getpass.getpass(f"Password for {args.username}: ")
        else:
            raise UsageError("no terminal to ask the password on", "pipe it in with --password-stdin")
        credentials = login.with_password(
            args.url, args.username, password, args.device_name, None, out.print
        )
    else:
        credentials = login.with_pairing(args.url, args.device_name, None, out.print)
    path = credentials.save()
    who = f" as {credentials.username}" if credentials.username else ""
    out.print(f"Logged in to {credentials.url}{who}; this device is {credentials.device_name!r}.")
    out.print(f"Token saved in {path} (readable by you only).")
    return ExitCode.OK


# --- map ------------------------------------------------------------------------------------------


def _folder(arg: Path | None, settings: Settings) -> Path:
    if arg is not None:
        return arg.expanduser()
    if settings.dir is not None:
        return settings.dir
    synced = FolderState.all()
    if len(synced) == 1:
        return Path(synced[0]["root"])
    raise UsageError("which folder?", f"name it (cloudsaves sync DIR) or set `dir` in {settings.path}")


def cmd_map(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    settings = Settings.load()
    if args.write_config:
        out.print(f"Settings: {Settings.write_default()}")
        return ExitCode.OK
    credentials = Credentials.load()
    root = _folder(args.dir, settings)
    roms = RomIndex(Api(credentials.url, credentials.token).roms())
    table = Table("file", "kind", "emulator", "ROM", "matched")
    unmapped = 0
    for file in scan(root, settings):
        mapped = roms.match(file, settings)
        rom = roms.by_id.get(mapped.rom_id) if mapped.rom_id else None
        unmapped += mapped.rom_id is None
        label = f"{mapped.rom_id} {rom['name']}" if rom else (str(mapped.rom_id) if mapped.rom_id else "-")
        slot = f" ({settings.slot})" if file.kind == "save" else ""
        table.add_row(file.rel, file.kind + slot, file.emulator or "-", label, mapped.why)
    out.print(table)
    out.print(f"{unmapped} file(s) not mapped. Overrides: [map] in {settings.path}")
    return ExitCode.OK


# --- sync and watch -------------------------------------------------------------------------------


def _bars(args: argparse.Namespace, err: Console) -> Any:
    """Live bars on a terminal; `--progress always` elsewhere prints their final state (logs, CI)."""
    if args.progress == "never" or (args.progress == "auto" and not err.is_terminal):
        return None

    def make(total: int, files: int) -> AbstractContextManager[Reporter]:
        return BarReporter(err, total, files)

    return make


def run_sync(args: argparse.Namespace, out: Console, err: Console) -> Outcome:
    credentials, settings = Credentials.load(), Settings.load()
    sync = Sync(credentials, settings, _folder(args.dir, settings))
    outcome = sync.run(args.prefer, _bars(args, err))
    report(outcome, out, err)
    return outcome


def report(outcome: Outcome, out: Console, err: Console) -> None:
    counts: dict[str, int] = {}
    for action in outcome.done:
        counts[action.do] = counts.get(action.do, 0) + 1
    done = (
        ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in sorted(counts.items())) or "nothing to move"
    )
    out.print(f"Sync session {outcome.session_id}: {done}; {outcome.in_sync} file(s) already in sync.")
    for path in outcome.backups:
        out.print(f"  replaced file kept as {path}")
    for warning in outcome.warnings:
        err.print(f"warning: {warning}")
    for action, why in outcome.failed:
        err.print(Text.assemble(("failed ", "red"), f"{action.do} {action.rel}: {why}"))
    if outcome.conflicts:
        table = Table(
            "conflict", "why", "changed here", "changed on the server", title="Conflicts (nothing done)"
        )
        for c in outcome.conflicts:
            table.add_row(c.rel, c.reason, _when(c.local_updated_at), _when(c.server_updated_at))
        err.print(table)
        err.print(
            "Choose: cloudsaves sync --prefer local (upload yours) | server (download theirs, yours kept "
            "as a backup) | both (theirs saved beside yours, yours uploaded)"
        )
    if outcome.unmapped:
        err.print(
            f"{len(outcome.unmapped)} file(s) not synced (see cloudsaves map): "
            + "; ".join(outcome.unmapped[:3])
        )
    if outcome.fatal is not None:
        raise outcome.fatal


def _when(iso: str | None) -> str:
    return f"{iso[:19].replace('T', ' ')} UTC" if iso else "-"


def cmd_sync(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    return run_sync(args, out, err).exit_code


def cmd_watch(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from cloudsaves_client.watch import watch

    settings = Settings.load()
    root = _folder(args.dir, settings)
    Credentials.load()  # not logged in: say so now, not at the first change
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def once() -> None:
        try:
            run_sync(args, out, err)
        except ClientError as error:  # offline for a while, a conflict: say it, keep watching
            err.print(
                Text.assemble(("error: ", "red"), error.message, f" ({error.hint})" if error.hint else "")
            )

    out.print(f"Watching {root.resolve()} (Ctrl-C to stop)")
    with suppress(KeyboardInterrupt):
        watch(root, once, settings.debounce_seconds, args.interval, stop)
    return ExitCode.OK


# --- status and history ---------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    credentials = Credentials.load()
    out.print(f"Config:  {config_dir()}")
    out.print(f"Server:  {credentials.url}")
    out.print(f"Device:  {credentials.device_name} ({credentials.device_id})")
    api = Api(credentials.url, credentials.token)
    out.print(f"User:    {api.me().get('username')}")
    for folder in FolderState.all():
        out.print(
            f"Folder:  {folder['root']}: {len(folder['files'])} file(s) in sync, "
            f"last sync {folder['last_sync']}"
        )
    try:
        sessions = api.sessions(credentials.device_id, limit=3)
    except ApiError:
        sessions = []
    for session in sessions:
        out.print(
            f"Session: {session['id']} {session['status']} at {session['initiated_at']}: "
            f"{session['operations_completed']}/{session['operations_planned']} done, "
            f"{session['operations_failed']} failed"
        )
    return ExitCode.OK


def _find_rom(api: Api, game: str) -> dict[str, Any]:
    if game.isdigit():
        return api.rom(int(game))
    wanted = game.casefold()
    found = [
        r
        for r in api.roms()
        if wanted in str(r.get("name", "")).casefold()
        or wanted in rom_stem(str(r.get("fs_name", ""))).casefold()
    ]
    if len(found) != 1:
        names = ", ".join(f"{r['id']} {r['name']}" for r in found[:10]) or "none"
        raise UsageError(f"{len(found)} ROMs match {game!r}: {names}", "name it by id: cloudsaves history ID")
    return found[0]


def cmd_history(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    credentials = Credentials.load()
    api = Api(credentials.url, credentials.token)
    rom = _find_rom(api, args.game)
    devices = {d["id"]: d.get("name") or d["id"] for d in api.devices()}
    out.print(f"{rom['name']} ({rom['fs_name']}, ROM {rom['id']}), newest first:")
    for kind in ("save", "state"):
        for asset in api.assets(kind, int(rom["id"])):
            origin = asset.get("origin_device_id")
            when = _when(str(asset["updated_at"]))
            out.print(
                f"  {kind} {asset['id']}  {when}  {asset['file_size_bytes']:>11,} B  "
                f"md5 {str(asset.get('content_hash') or '')[:8]}  {asset.get('slot') or 'no slot'}  "
                f"{asset.get('emulator') or '-'}  from {devices.get(origin, origin) if origin else '-'}"
            )
            out.print(f"      {asset['file_name']}: {asset['download_path'].split('?')[0]}")
            if asset.get("screenshot"):
                out.print(f"      screenshot: {asset['screenshot']['download_path'].split('?')[0]}")
    return ExitCode.OK


COMMANDS = {
    "login": cmd_login,
    "map": cmd_map,
    "sync": cmd_sync,
    "watch": cmd_watch,
    "status": cmd_status,
    "history": cmd_history,
}

if __name__ == "__main__":
    sys.exit(main())
