"""RomM's PlatformSchema, filled with what the ROM catalog knows of each platform."""

from datetime import datetime

from pydantic import Field, computed_field

from cloudsaves.models.base import BaseModel


class PlatformSchema(BaseModel):
    id: int
    slug: str
    fs_slug: str
    rom_count: int
    name: str
    igdb_slug: str | None = None
    moby_slug: str | None = None
    hltb_slug: str | None = None
    libretro_slug: str | None = None
    custom_name: str | None = None
    description: str | None = None
    igdb_id: int | None = None
    sgdb_id: int | None = None
    moby_id: int | None = None
    launchbox_id: int | None = None
    ss_id: int | None = None
    ra_id: int | None = None
    hasheous_id: int | None = None
    tgdb_id: int | None = None
    flashpoint_id: int | None = None
    category: str | None = None
    generation: int | None = None
    family_name: str | None = None
    family_slug: str | None = None
    url: str | None = None
    url_logo: str | None = None
    firmware: list[dict] = Field(default_factory=list)  # no firmware here: always empty
    created_at: datetime
    updated_at: datetime
    fs_size_bytes: int = 0
    is_unidentified: bool = False
    is_identified: bool = True
    missing_from_fs: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_name(self) -> str:
        return self.custom_name or self.name

    @computed_field  # type: ignore[prop-decorator]
    @property
    def firmware_count(self) -> int:
        return len(self.firmware)


class PlatformRecord(BaseModel):
    """A platform's count item: kept by each ROM upsert (`repositories/roms.py`)."""

    platform_id: int
    slug: str
    fs_slug: str
    rom_count: int = 0
    created_at: datetime
    updated_at: datetime
