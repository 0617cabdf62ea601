"""RomM's scopes and the roles that grant them (RomM's legacy groups)."""

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
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


_READS = {s for s in Scope if s.value.endswith(".read")}
_VIEWER = (_READS - {Scope.USERS_READ}) | {
    Scope.ME_WRITE,
    Scope.ASSETS_WRITE,
    Scope.DEVICES_WRITE,
    Scope.ROMS_USER_WRITE,
}
_EDITOR = _VIEWER | {Scope.ROMS_WRITE, Scope.PLATFORMS_WRITE}

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.EDITOR: frozenset(_EDITOR),
    Role.ADMIN: frozenset(Scope),
}


def parse_scopes(value: str | None) -> frozenset[str]:
    return frozenset((value or "").split())


def format_scopes(scopes: frozenset[str] | set[str] | list[str]) -> str:
    return " ".join(sorted(scopes))
