"""Gallery screenshots: the stored record and RomM's ScreenshotSchema for it."""

from urllib.parse import quote

from pydantic import ConfigDict

from cloudsaves.filenames import split_name
from cloudsaves.models.assets import ScreenshotSchema
from cloudsaves.models.base import BaseModel


class ScreenshotRecord(BaseModel):
    id: int
    user_id: int
    rom_id: int
    platform_fs_slug: str
    file_name: str
    file_size_bytes: int
    content_type: str
    object_key: str
    is_public: bool = False
    created_at: str
    updated_at: str

    def to_schema(self) -> "ScreenshotSchema":
        parts = split_name(self.file_name)
        folder = f"users/{self.user_id}/screenshots/{self.platform_fs_slug}/{self.rom_id}"
        return ScreenshotSchema(
            id=self.id,
            rom_id=self.rom_id,
            user_id=self.user_id,
            file_name=self.file_name,
            file_name_no_tags=parts.no_tags,
            file_name_no_ext=parts.no_ext,
            file_extension=parts.extension,
            file_path=folder,
            file_size_bytes=self.file_size_bytes,
            full_path=f"{folder}/{self.file_name}",
            download_path=f"/api/screenshots/{self.id}/content?timestamp={quote(self.updated_at, safe='')}",
            created_at=self.created_at,
            updated_at=self.updated_at,
            is_gallery=True,
            is_public=self.is_public,
        )


class ScreenshotVisibility(BaseModel):
    model_config = ConfigDict(extra="ignore")

    is_public: bool
