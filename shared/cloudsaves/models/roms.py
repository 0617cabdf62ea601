"""ROM catalog entries (the subset of RomM's RomSchema that saves need)."""

from pydantic import ConfigDict, Field

from cloudsaves.models.base import BaseModel

_SLUG = r"^[A-Za-z0-9._-]+$"


class RomUpsert(BaseModel):
    model_config = ConfigDict(extra="ignore")  # RomM's RomSchema carries many more fields; keep ours

    name: str = Field(min_length=1, max_length=500)
    fs_name: str = Field(min_length=1, max_length=500)
    platform_id: int = Field(gt=0, lt=2**53)
    platform_slug: str = Field(min_length=1, max_length=100, pattern=_SLUG)
    platform_fs_slug: str = Field(min_length=1, max_length=100, pattern=_SLUG)


class RomSchema(RomUpsert):
    id: int = Field(gt=0, lt=2**53)


class RomImportEntry(RomSchema):
    pass


class RomPage(BaseModel):
    items: list[RomSchema]
    total: int
    limit: int
    offset: int
