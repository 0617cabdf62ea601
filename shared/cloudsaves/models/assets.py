"""Saves and states: API models (RomM field names), request bodies and the domain records.

The records are what the repository stores and reads back (mapped explicitly to and from items in
`cloudsaves.repositories.assets`); the schemas are what clients see, built from a record by the service.
"""

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from cloudsaves.models.base import BaseModel

Kind = Literal["save", "state"]

AssetId = Annotated[int, Field(gt=0, lt=2**53)]
MAX_DELETE_IDS = 100


# --- domain records -------------------------------------------------------------------------------


class ScreenshotRecord(BaseModel):
    """A screenshot attached to its save or state record (not linked by file-name stem as RomM does)."""

    id: int
    file_name: str
    file_size_bytes: int
    object_key: str
    created_at: str
    updated_at: str


class SyncRecord(BaseModel):
    """One device's sync state for one save (RomM's DeviceSaveSync row)."""

    last_synced_at: str
    is_untracked: bool = False


class AssetRecord(BaseModel):
    id: int
    user_id: int
    rom_id: int
    platform_id: int
    platform_fs_slug: str
    file_name: str
    file_name_no_tags: str
    file_name_no_ext: str
    file_extension: str
    file_path: str
    file_size_bytes: int
    emulator: str | None = None
    content_hash: str | None = None
    is_public: bool = False
    created_at: str
    updated_at: str
    object_key: str
    screenshot: ScreenshotRecord | None = None
    # Bumped by every content or screenshot write: the optimistic-concurrency token of in-place updates.
    version: int = 1


class SaveRecord(AssetRecord):
    slot: str | None = None
    origin_device_id: str | None = None
    syncs: dict[str, SyncRecord] = Field(default_factory=dict)


class StateRecord(AssetRecord):
    pass


AnyRecord = SaveRecord | StateRecord


@dataclass(frozen=True)
class StoredFile:
    """Bytes already in S3 at a final, unique key (built by `cloudsaves.storage`), ready to be committed."""

    file_name: str  # already sanitised (cloudsaves.filenames.sanitize_file_name); no slot tag yet
    file_size_bytes: int
    content_hash: str  # cloudsaves.hashing.content_hash of the bytes
    object_key: str
    noted_at: str | None = None  # when its pending orphan-check note was filed (services.orphans)


# --- API models -----------------------------------------------------------------------------------


class AssetFileSchema(BaseModel):
    """The file fields RomM's saves, states and screenshots share."""

    id: int
    rom_id: int
    user_id: int
    file_name: str
    file_name_no_tags: str
    file_name_no_ext: str
    file_extension: str
    file_path: str
    file_size_bytes: int
    full_path: str
    download_path: str
    missing_from_fs: bool = False
    created_at: str
    updated_at: str


class ScreenshotSchema(AssetFileSchema):
    is_gallery: bool = False
    is_public: bool = False


class DeviceSyncSchema(BaseModel):
    device_id: str
    device_name: str | None
    last_synced_at: str
    is_untracked: bool
    is_current: bool


class StateSchema(AssetFileSchema):
    emulator: str | None
    content_hash: str | None = None  # beyond RomM's StateSchema: states are hashed too
    is_public: bool = False
    screenshot: ScreenshotSchema | None


class SaveSchema(StateSchema):
    slot: str | None = None
    origin_device_id: str | None = None
    device_syncs: list[DeviceSyncSchema] = Field(default_factory=list)


class SlotSummarySchema(BaseModel):
    slot: str | None
    count: int
    latest: SaveSchema


class SaveSummarySchema(BaseModel):
    total_count: int
    slots: list[SlotSummarySchema]


# --- requests -------------------------------------------------------------------------------------


class UploadParams(BaseModel):
    """The upload options of `POST /api/saves` / `POST /api/states` (RomM's query parameters).

    The direct-upload flow replays the same fields; `slot`, `device_id`, `session_id`, `overwrite` and
    `autocleanup*` are ignored for states.
    """

    model_config = ConfigDict(extra="ignore")

    rom_id: AssetId
    emulator: str | None = Field(default=None, max_length=255)
    slot: str | None = Field(default=None, max_length=255)
    device_id: str | None = Field(default=None, max_length=255)
    session_id: int | None = Field(default=None, ge=0, lt=2**53)
    overwrite: bool = False
    autocleanup: bool = False
    autocleanup_limit: int = Field(default=10, ge=-(2**31), lt=2**31)  # clamped to 1..100 when used


class VisibilityUpdate(BaseModel):
    is_public: bool


class DeviceBody(BaseModel):
    """`{"device_id": ...}` of /downloaded, /track and /untrack."""

    device_id: str = Field(min_length=1, max_length=255)


class DeleteSavesRequest(BaseModel):
    saves: list[AssetId]


class DeleteStatesRequest(BaseModel):
    states: list[AssetId]
