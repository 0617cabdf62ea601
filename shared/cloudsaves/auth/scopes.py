"""RomM's 22 scopes and the roles that grant them (RomM's READ/WRITE/EDIT/FULL scope sets).

A scope whose routes this service does not have (collections, firmware, playlists, tasks, logs) is still
granted and carried in tokens, so clients that ask for it are not refused.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    ME_READ = "me.read"
    ME_WRITE = "me.write"
    ROMS_READ = "roms.read"
    ROMS_WRITE = "roms.write"
    ROMS_USER_READ = "roms.user.read"
    ROMS_USER_WRITE = "roms.user.write"
    PLATFORMS_READ = "platforms.read"
    PLATFORMS_WRITE = "platforms.write"
    ASSETS_READ = "assets.read"
    ASSETS_WRITE = "assets.write"
    DEVICES_READ = "devices.read"
    DEVICES_WRITE = "devices.write"
    FIRMWARE_READ = "firmware.read"
    FIRMWARE_WRITE = "firmware.write"
    COLLECTIONS_READ = "collections.read"
    COLLECTIONS_WRITE = "collections.write"
    PLAYLISTS_READ = "playlists.read"
    PLAYLISTS_WRITE = "playlists.write"
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    TASKS_RUN = "tasks.run"
    LOGS_READ = "logs.read"


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


KNOWN_SCOPES: frozenset[str] = frozenset(Scope)

# RomM's READ_SCOPES (every read but users.read and logs.read) ...
READ_SCOPES = frozenset(
    {
        Scope.ME_READ,
        Scope.ROMS_READ,
        Scope.PLATFORMS_READ,
        Scope.ASSETS_READ,
        Scope.DEVICES_READ,
        Scope.FIRMWARE_READ,
        Scope.ROMS_USER_READ,
        Scope.COLLECTIONS_READ,
        Scope.PLAYLISTS_READ,
    }
)
# ... WRITE_SCOPES: a player manages their own profile, saves, devices and play data ...
WRITE_SCOPES = READ_SCOPES | {
    Scope.ME_WRITE,
    Scope.ASSETS_WRITE,
    Scope.DEVICES_WRITE,
    Scope.ROMS_USER_WRITE,
    Scope.COLLECTIONS_WRITE,
    Scope.PLAYLISTS_WRITE,
}
# ... EDIT_SCOPES: an editor also curates the library; FULL_SCOPES: everything.
EDIT_SCOPES = WRITE_SCOPES | {Scope.ROMS_WRITE, Scope.PLATFORMS_WRITE, Scope.FIRMWARE_WRITE}
FULL_SCOPES = KNOWN_SCOPES

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset(WRITE_SCOPES),
    Role.EDITOR: frozenset(EDIT_SCOPES),
    Role.ADMIN: frozenset(FULL_SCOPES),
}


def parse_scopes(value: str | None) -> frozenset[str]:
    return frozenset((value or "").split())


def format_scopes(scopes: frozenset[str] | set[str] | list[str]) -> str:
    return " ".join(sorted(scopes))


def scopes_beyond(requested: frozenset[str] | set[str] | list[str], held: frozenset[str]) -> list[str]:
    """The requested scopes the caller does not hold (unknown names included), sorted as RomM lists them."""
    return sorted(set(requested) - held)
