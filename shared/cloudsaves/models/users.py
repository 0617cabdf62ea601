"""Users and client tokens: API models (RomM field names) and domain records."""

from datetime import datetime
from typing import Literal, Self

from pydantic import ConfigDict, Field, field_validator

from cloudsaves.auth.scopes import Role
from cloudsaves.models.base import BaseModel


class UserRecord(BaseModel):
    id: int
    username: str
    email: str | None = None
    role: Role
    enabled: bool = True
    password_hash: str
    client_token_count: int = 0
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # RomM usernames: letters, digits and ._- (they appear in storage paths and JWT subjects).
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    password: str = Field(min_length=8, max_length=72)
    role: Role = Role.VIEWER
    email: str | None = Field(default=None, max_length=254)


class UserSchema(BaseModel):
    id: int
    username: str
    email: str | None
    role: Role
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord) -> Self:
        return cls.model_validate(user.model_dump(include=set(cls.model_fields)))


class CurrentUserSchema(UserSchema):
    """`GET /api/users/me`: the profile plus the device of a device-bound token (else null), as RomM."""

    current_device_id: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str | None = None
    token_type: Literal["bearer"] = "bearer"
    expires: int
    refresh_expires: int | None = None


ExpiresIn = Literal["30d", "90d", "1y", "never"]
EXPIRES_IN_DAYS: dict[str, int | None] = {"30d": 30, "90d": 90, "1y": 365, "never": None}


class ClientTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=64)
    expires_in: ExpiresIn = "never"
    device_id: str | None = Field(default=None, max_length=64)

    @field_validator("scopes")
    @classmethod
    def _unique(cls, scopes: list[str]) -> list[str]:
        return sorted(set(scopes))


class ClientTokenRecord(BaseModel):
    id: int
    name: str
    scopes: list[str]
    user_id: int
    username: str
    expires_at: datetime | None
    last_used_at: datetime | None = None
    created_at: datetime
    device_id: str | None = None
    token_hash: str


class ClientTokenSchema(BaseModel):
    id: int
    name: str
    scopes: list[str]
    user_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    device_id: str | None

    @classmethod
    def of(cls, token: ClientTokenRecord) -> Self:
        return cls.model_validate(token.model_dump(include=set(cls.model_fields)))


class ClientTokenCreated(ClientTokenSchema):
    raw_token: str


class ClientTokenAdminSchema(ClientTokenSchema):
    """`GET /api/client-tokens/all`: every user's tokens, with their owner (RomM's shape)."""

    username: str
    user_avatar_path: str = ""
    user_updated_at: datetime


class ClientTokenPairSchema(BaseModel):
    code: str
    expires_in: int


class ClientTokenExchange(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class PairCodeRecord(BaseModel):
    """A pairing code: which token it regenerates on exchange, and until when."""

    code: str
    token_id: int
    user_id: int
    username: str
    expires_at_epoch: int
