"""Play sessions (RomM 5.2's `/api/play-sessions`): request entries, answers and the stored record."""

from datetime import UTC, datetime
from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from cloudsaves.models.base import BaseModel

MAX_BATCH_SIZE = 100
MAX_FUTURE_MINUTES = 5
DEFAULT_LIST_LIMIT = 50


def utc_seconds(moment: datetime) -> datetime:
    """RomM's precision: whole seconds; a time without a zone is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


class PlaySessionEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rom_id: int | None = None
    save_slot: str | None = Field(default=None, max_length=255)
    start_time: datetime
    end_time: datetime
    duration_ms: int = Field(ge=0, lt=2**53)

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        # Microseconds are dropped first, as RomM does: 10:00:00.2 -> 10:00:00.9 is not after.
        self.start_time = utc_seconds(self.start_time)
        self.end_time = utc_seconds(self.end_time)
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class PlaySessionIngestPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    device_id: str | None = Field(default=None, max_length=255)
    # Bounded well above MAX_BATCH_SIZE only so that a huge body is refused before it is parsed;
    # the service answers RomM's 400 for 101..1000 entries.
    sessions: list[PlaySessionEntry] = Field(max_length=1000)


class PlaySessionIngestResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "error"]
    id: int | None = None
    detail: str | None = None


class PlaySessionIngestResponse(BaseModel):
    results: list[PlaySessionIngestResult]
    created_count: int
    skipped_count: int


class PlaySessionSchema(BaseModel):
    id: int
    user_id: int
    device_id: str | None
    rom_id: int | None
    save_slot: str | None
    start_time: str
    end_time: str
    duration_ms: int
    created_at: str
    updated_at: str


class PlaySessionRecord(PlaySessionSchema):
    """What is stored: the schema plus the sync session that brought it (RomM keeps it too)."""

    sync_session_id: int | None = None
