"""The ROM catalog: upsert, lookup, RomM-style pages, bulk import."""

from __future__ import annotations

from cloudsaves.aws import table
from cloudsaves.errors import ConcurrentUpdate, NotFound, ServiceUnavailable
from cloudsaves.models.roms import RomPage, RomSchema, RomUpsert
from cloudsaves.repositories.roms import RomsRepository


def roms_repository() -> RomsRepository:
    return RomsRepository(table())


def upsert_rom(rom_id: int, request: RomUpsert) -> RomSchema:
    rom = RomSchema(id=rom_id, **request.model_dump())
    try:
        roms_repository().put(rom)
    except ConcurrentUpdate:
        raise ServiceUnavailable("The ROM catalog is busy with other writes; retry shortly") from None
    return rom


def get_rom(rom_id: int) -> RomSchema:
    """The ROM, or NotFound with RomM's message (uploads name an unknown rom_id this way too)."""
    rom = roms_repository().get(rom_id)
    if rom is None:
        raise NotFound(f"ROM with ID {rom_id} not found")
    return rom


def list_roms(platform_ids: list[int], limit: int, offset: int) -> RomPage:
    items, total = roms_repository().page(platform_ids, limit, offset)
    return RomPage(items=items, total=total, limit=limit, offset=offset)


def import_roms(roms: list[RomSchema]) -> int:
    repo = roms_repository()
    for rom in roms:
        repo.put(rom)  # one at a time: each upsert moves the catalog counts with it
    return len(roms)
