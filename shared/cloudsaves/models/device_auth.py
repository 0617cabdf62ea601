"""Device pairing (RFC 8628 device authorization): RomM's payloads and responses, and the stored flow."""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from cloudsaves.auth.scopes import Scope
from cloudsaves.models.base import BaseModel
from cloudsaves.models.users import ExpiresIn

# Whatever RomM's scope set is (`Scope`), a request never needs more entries than it has names.
MAX_REQUESTED_SCOPES = len(Scope)


class FlowStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class DeviceAuthInitPayload(BaseModel):
    client_device_identifier: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    client: str = Field(min_length=1, max_length=50)
    platform: str | None = Field(default=None, max_length=50)
    client_version: str | None = Field(default=None, max_length=50)
    requested_scopes: list[str] = Field(min_length=1, max_length=MAX_REQUESTED_SCOPES)

    @field_validator("requested_scopes")
    @classmethod
    def _known(cls, scopes: list[str]) -> list[str]:
        known = {str(scope) for scope in Scope}
        unknown = sorted({scope for scope in scopes if scope not in known})
        if unknown:
            raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
        return scopes


class DeviceAuthInitResponse(BaseModel):
    device_code: str
    user_code: str
    verification_path: str
    verification_path_complete: str
    expires_in: int
    interval: int


class DeviceAuthPendingSchema(BaseModel):
    client_device_identifier: str
    name: str
    client: str
    platform: str | None
    client_version: str | None
    requested_scopes: list[str]
    allowed_scopes: list[str]
    expires_at: datetime


class DeviceAuthApprovePayload(BaseModel):
    user_code: str = Field(min_length=1, max_length=32)
    approved_scopes: list[str] = Field(min_length=1, max_length=100)
    device_name: str | None = Field(default=None, max_length=255)
    expires_in: ExpiresIn | None = None


class DeviceAuthApproveResponse(BaseModel):
    device_id: str
    device_name: str | None


class DeviceAuthDenyPayload(BaseModel):
    user_code: str = Field(min_length=1, max_length=32)


class DeviceAuthTokenPayload(BaseModel):
    device_code: str = Field(min_length=1, max_length=128)


class DeviceAuthTokenResponse(BaseModel):
    access_token: str
    device_id: str
    scopes: list[str]
    expires_at: datetime | None


class PairingFlow(BaseModel):
    """A pairing flow as stored, from init until its token is handed out (or it expires)."""

    model_config = ConfigDict(extra="ignore")

    device_code_hash: str
    user_code: str
    status: FlowStatus = FlowStatus.PENDING
    client_device_identifier: str
    name: str
    client: str
    platform: str | None = None
    client_version: str | None = None
    requested_scopes: list[str]
    interval: int
    expires_at: datetime
    # The client token this flow hands out, drawn at init: its hash (approve stores the token under
    # it) and the raw token sealed with the device code, which only the device holds.
    token_hash: str
    sealed_token: str
    last_poll_at: datetime | None = None
    # Set by approve.
    device_id: str | None = None
    scopes: list[str] | None = None
    token_expires_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        """DynamoDB's TTL deletes late, so every read checks the stored expiry itself."""
        return now < self.expires_at
