"""Sync protocol (API.md section 10): negotiate, sync sessions, tombstones. RomM 5.2's field names.

The opt-in fields beyond RomM (`states`, `transfers`, `deleted`) add keys to the answer only when the
request used them: a model serializer drops the absent ones, so RomM clients see RomM's shapes.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from cloudsaves.models.assets import AssetId
from cloudsaves.models.base import BaseModel
from cloudsaves.models.play_sessions import PlaySessionEntry, PlaySessionIngestResponse

# A manifest this long still negotiates in one Lambda call (about 1 s of CPU, a 3 MB answer); longer
# ones are refused with 422 naming the list rather than risking the 6 MB response limit.
MAX_MANIFEST_ENTRIES = 10_000
# `transfers: true` signs at most this many URLs per negotiate (each URL is ~1 kB of answer); the
# rest of the plan is unchanged and those files move through `/content` or `/download-url`.
MAX_TRANSFER_HINTS = 1_000
DEFAULT_SESSION_LIST_LIMIT = 50
MAX_SESSION_LIST_LIMIT = 1_000

SyncAction = Literal["upload", "download", "conflict", "no_op", "delete"]


class SyncSessionStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


OPEN_STATUSES = (SyncSessionStatus.PENDING, SyncSessionStatus.IN_PROGRESS)


def _without_absent(data: dict[str, Any], optional: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in optional or v is not None}


# --- requests -------------------------------------------------------------------------------------


class ClientStateEntry(BaseModel):
    """One file of the client's manifest. A timestamp without a zone is taken as UTC (as RomM)."""

    model_config = ConfigDict(extra="ignore")

    rom_id: AssetId
    file_name: str = Field(min_length=1, max_length=1024)
    emulator: str | None = Field(default=None, max_length=255)
    content_hash: str | None = Field(default=None, max_length=128)
    updated_at: datetime
    file_size_bytes: int = Field(ge=0)


class ClientSaveState(ClientStateEntry):
    slot: str | None = Field(default=None, max_length=255)


class DeletedSlot(BaseModel):
    """A slot the client deleted locally: `{rom_id, slot}` (the tombstone's key)."""

    rom_id: AssetId
    slot: str = Field(min_length=1, max_length=255)


class SyncNegotiatePayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    device_id: str | None = Field(default=None, min_length=1, max_length=255)
    saves: list[ClientSaveState] = Field(max_length=MAX_MANIFEST_ENTRIES)
    # Beyond RomM, opt-in:
    states: list[ClientStateEntry] | None = Field(default=None, max_length=MAX_MANIFEST_ENTRIES)
    transfers: bool = False
    deleted: list[DeletedSlot] | None = Field(default=None, max_length=MAX_MANIFEST_ENTRIES)


class SyncCompletePayload(BaseModel):
    operations_completed: int = Field(default=0, ge=0, lt=2**31)
    operations_failed: int = Field(default=0, ge=0, lt=2**31)
    # RomM sets no bound here; this one keeps a completion within one Lambda call.
    play_sessions: list[PlaySessionEntry] | None = Field(default=None, max_length=1000)


# --- answers --------------------------------------------------------------------------------------


class UploadHint(BaseModel):
    """With `transfers: true`: the direct-upload reservation to make (fill in `content_md5`)."""

    method: Literal["POST"] = "POST"
    path: str
    body: dict[str, Any]


class _TransferFields(BaseModel):
    download_url: str | None = None
    expires_at: str | None = None
    upload: UploadHint | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # No return annotation on purpose: pydantic then documents the model's own fields.
        return _without_absent(handler(self), ("download_url", "expires_at", "upload"))


class SyncOperationSchema(_TransferFields):
    action: SyncAction
    rom_id: int
    save_id: int | None = None
    file_name: str
    slot: str | None = None
    emulator: str | None = None
    reason: str
    server_updated_at: str | None = None
    server_content_hash: str | None = None


class StateOperationSchema(_TransferFields):
    action: SyncAction
    rom_id: int
    state_id: int | None = None
    file_name: str
    emulator: str | None = None
    reason: str
    server_updated_at: str | None = None
    server_content_hash: str | None = None


class OperationTotals(BaseModel):
    total_upload: int
    total_download: int
    total_conflict: int
    total_no_op: int


class SyncNegotiateResponse(BaseModel):
    session_id: int
    operations: list[SyncOperationSchema]
    total_upload: int
    total_download: int
    total_conflict: int
    total_no_op: int
    total_delete: int | None = None  # with `deleted` in the request
    state_operations: list[StateOperationSchema] | None = None  # with `states` in the request
    state_totals: OperationTotals | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        return _without_absent(handler(self), ("total_delete", "state_operations", "state_totals"))


class SyncSessionSchema(BaseModel):
    id: int
    device_id: str
    user_id: int
    status: SyncSessionStatus
    initiated_at: str
    completed_at: str | None = None
    operations_planned: int = 0
    operations_completed: int = 0
    operations_failed: int = 0
    error_message: str | None = None
    created_at: str
    updated_at: str


class SyncCompleteResponse(BaseModel):
    session: SyncSessionSchema
    play_session_ingest: PlaySessionIngestResponse | None = None


class Tombstone(BaseModel):
    """A deleted slot (`kind` "save"), shared by sync negotiate and the RetroArch door.

    Live while the slot's newest save is still `save_id` (a client-side delete keeps the rows) or the
    slot is empty (`POST /api/saves/delete` removed them all); any later upload makes it moot.
    """

    kind: Literal["save"] = "save"
    rom_id: int
    slot: str
    save_id: int
    file_name: str
    content_hash: str | None = None
    deleted_at: str
    device_id: str | None = None  # the device that deleted it; None for a delete through the API
