"""Direct uploads and downloads (API.md section 7): requests, answers and the reservation record."""

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from cloudsaves.hashing import base64_to_hex
from cloudsaves.models.assets import AssetId, Kind, UploadParams
from cloudsaves.models.base import BaseModel

# One presigned PUT carries at most S3's single-object limit.
MAX_DIRECT_UPLOAD_BYTES = 5 * 1024**3

UploadStatus = Literal["pending", "committing", "done", "failed"]


class UploadFile(BaseModel):
    """A file the client is about to PUT: its name, exact size and `Content-MD5` (base64 MD5)."""

    model_config = ConfigDict(extra="forbid")

    file_name: str = Field(min_length=1, max_length=1024)
    file_size_bytes: int = Field(ge=1, le=MAX_DIRECT_UPLOAD_BYTES)  # empty files are refused, as multipart
    content_md5: str = Field(min_length=24, max_length=24)

    @field_validator("content_md5")
    @classmethod
    def _is_md5(cls, value: str) -> str:
        base64_to_hex(value)  # ValueError (-> 422 naming the field) unless base64 of 16 bytes
        return value


class StateUploadCreate(UploadFile):
    """`POST /api/states/uploads`: the multipart upload's query fields plus the files to come."""

    rom_id: AssetId
    emulator: str | None = Field(default=None, max_length=255)
    screenshot: UploadFile | None = None

    def upload_params(self) -> UploadParams:
        """The multipart route's query fields, replayed at complete."""
        return UploadParams.model_validate(self.model_dump(include=set(UploadParams.model_fields)))


class SaveUploadCreate(StateUploadCreate, UploadParams):
    """`POST /api/saves/uploads`: every field of the multipart route's query (UploadParams) too."""

    model_config = ConfigDict(extra="forbid")


class PresignedRequest(BaseModel):
    """What the client sends the bytes with: exactly this method, URL and headers."""

    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]


class _UploadCreated(BaseModel):
    upload_id: str
    expires_at: datetime
    screenshot: PresignedRequest | None


class SaveUploadCreated(_UploadCreated):
    save: PresignedRequest


class StateUploadCreated(_UploadCreated):
    state: PresignedRequest


class DownloadUrl(BaseModel):
    """`POST /api/{saves|states}/{id}/download-url`: a short-lived presigned GET naming the file."""

    url: str
    expires_at: datetime
    file_size_bytes: int
    content_hash: str | None


class StagedFile(BaseModel):
    """One reserved file: what the client promised and where its bytes are staged."""

    file_name: str
    file_size_bytes: int
    content_md5: str
    staging_key: str


class UploadReservation(BaseModel):
    """The item behind an upload_id (pk `UPLOAD#<id>`), from reservation to commit.

    pending -> committing (one completer holds `claim_token`) -> done (`result_id`) or failed (`error_*`);
    a completer that finds wrong bytes moves it back to pending, so the client can PUT again.
    """

    upload_id: str
    kind: Kind
    user_id: int
    status: UploadStatus = "pending"
    params: dict[str, Any]
    file: StagedFile
    screenshot: StagedFile | None = None
    created_at: datetime
    expires_at: datetime
    # The id a new record takes, fixed at reservation: a complete that committed but died before marking
    # the reservation done is recognised by its retry instead of committing a second record.
    record_id: int | None = None
    claim_token: str | None = None
    claimed_at: datetime | None = None
    result_id: int | None = None
    error_status: int | None = None
    error_detail: str | None = None
