"""Platforms (`GET /api/platforms`, `/api/platforms/{id}`): RomM's PlatformSchema from the ROM catalog."""

from __future__ import annotations

from cloudsaves.aws import table
from cloudsaves.errors import NotFound
from cloudsaves.models.platforms import PlatformRecord, PlatformSchema
from cloudsaves.repositories.platforms import PlatformsRepository

# RomM's names for the platforms people sync saves of most; any other platform is named by its slug.
_NAMES = {
    "3ds": "Nintendo 3DS",
    "arcade": "Arcade",
    "atari2600": "Atari 2600",
    "dc": "Dreamcast",
    "gamegear": "Sega Game Gear",
    "gb": "Game Boy",
    "gba": "Game Boy Advance",
    "gbc": "Game Boy Color",
    "genesis": "Sega Mega Drive/Genesis",
    "lynx": "Atari Lynx",
    "n64": "Nintendo 64",
    "nds": "Nintendo DS",
    "neogeo": "Neo Geo AES",
    "nes": "Nintendo Entertainment System",
    "ngc": "Nintendo GameCube",
    "pce": "TurboGrafx-16/PC Engine",
    "ps2": "PlayStation 2",
    "psp": "PlayStation Portable",
    "psx": "PlayStation",
    "saturn": "Sega Saturn",
    "sms": "Sega Master System/Mark III",
    "snes": "Super Nintendo Entertainment System",
    "switch": "Nintendo Switch",
    "vb": "Virtual Boy",
    "wii": "Wii",
    "wonderswan": "WonderSwan",
}


def platforms_repository() -> PlatformsRepository:
    return PlatformsRepository(table())


def list_platforms() -> list[PlatformSchema]:
    """Every platform of the catalog, by name (as RomM)."""
    platforms = [_schema(record) for record in platforms_repository().list()]
    return sorted(platforms, key=lambda platform: (platform.name.lower(), platform.id))


def get_platform(platform_id: int) -> PlatformSchema:
    record = platforms_repository().get(platform_id)
    if record is None:
        raise NotFound(f"Platform with id '{platform_id}' not found")
    return _schema(record)


def platform_name(slug: str) -> str:
    return _NAMES.get(slug, slug)


def _schema(record: PlatformRecord) -> PlatformSchema:
    return PlatformSchema(
        id=record.platform_id,
        slug=record.slug,
        fs_slug=record.fs_slug,
        rom_count=record.rom_count,
        name=platform_name(record.slug),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
