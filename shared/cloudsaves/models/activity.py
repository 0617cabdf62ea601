"""Activity ("who is playing now"): RomM's ActivityEntrySchema and heartbeat payload."""

from pydantic import ConfigDict, Field

from cloudsaves.models.base import BaseModel


class DeviceHeartbeatPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rom_id: int = Field(ge=1, lt=2**53)
    device_id: str = Field(min_length=1, max_length=255)


class ActivityEntrySchema(BaseModel):
    user_id: int
    username: str
    avatar_path: str = ""
    rom_id: int
    rom_name: str
    rom_cover_path: str = ""
    screenshot_path: str = ""
    platform_slug: str
    platform_name: str
    device_id: str
    device_type: str
    started_at: str
