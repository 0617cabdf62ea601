"""Operator commands, run against the deployed (or local) table:

    python -m cloudsaves.cli create-admin --username NAME [--password-stdin]
    python -m cloudsaves.cli import-roms catalog.json

They use the same environment as the functions (TABLE_NAME, AWS credentials, AWS_ENDPOINT_URL locally).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from pydantic import TypeAdapter, ValidationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudsaves.cli", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create the first admin (no-op if the user exists)")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    roms = commands.add_parser("import-roms", help="upsert ROM catalog entries from a JSON list")
    roms.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "create-admin":
        from cloudsaves.services.users import ensure_admin

        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
        user = ensure_admin(args.username, password)
        print(f"Admin {user.username} (id {user.id}) is ready")
        return 0

    from cloudsaves.models.roms import RomImportEntry
    from cloudsaves.services.roms import import_roms

    try:
        entries = TypeAdapter(list[RomImportEntry]).validate_json(args.file.read_bytes())
    except (OSError, ValidationError) as exc:
        print(f"Cannot import {args.file}: {exc}", file=sys.stderr)
        return 2
    print(f"Imported {import_roms(list(entries))} ROMs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
