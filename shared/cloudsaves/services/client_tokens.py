"""Client API tokens (`rmm_` + 64 hex): stored only as SHA-256, scoped within the owner's role."""

from __future__ import annotations

from datetime import timedelta

from cloudsaves.auth.scopes import ROLE_SCOPES, Role
from cloudsaves.auth.tokens import hash_client_token, new_client_token
from cloudsaves.clock import utcnow
from cloudsaves.errors import ConcurrentUpdate, Forbidden, NotFound
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.users import (
    EXPIRES_IN_DAYS,
    ClientTokenCreate,
    ClientTokenCreated,
    ClientTokenRecord,
    ClientTokenSchema,
)
from cloudsaves.services.users import users_repository

_ID_ATTEMPTS = 5


def create_client_token(principal: Principal, request: ClientTokenCreate) -> ClientTokenCreated:
    if not set(request.scopes) <= ROLE_SCOPES[Role(principal.role)]:
        raise Forbidden("Requested scopes exceed your role")
    if request.device_id is not None:
        from cloudsaves.services.devices import resolve_device

        resolve_device(principal, request.device_id, write=False)  # 404 unless it is the caller's device
    days = EXPIRES_IN_DAYS[request.expires_in]
    raw = new_client_token()
    now = utcnow()
    for _ in range(_ID_ATTEMPTS):
        record = ClientTokenRecord(
            id=new_int_id(),
            name=request.name,
            scopes=request.scopes,
            user_id=principal.user_id,
            username=principal.username,
            expires_at=now + timedelta(days=days) if days else None,
            created_at=now,
            device_id=request.device_id,
            token_hash=hash_client_token(raw),
        )
        try:
            users_repository().create_client_token(record)
        except ConcurrentUpdate:
            continue  # id collision
        return ClientTokenCreated(**ClientTokenSchema.of(record).model_dump(), raw_token=raw)
    raise RuntimeError("Could not allocate a client token id")


def list_client_tokens(principal: Principal) -> list[ClientTokenSchema]:
    tokens = users_repository().list_client_tokens(principal.user_id)
    return [ClientTokenSchema.of(token) for token in sorted(tokens, key=lambda t: t.id)]


def delete_client_token(principal: Principal, token_id: int) -> None:
    repo = users_repository()
    token = repo.get_client_token(principal.user_id, token_id)
    if token is None:
        raise NotFound("Client token not found")
    repo.delete_client_token(token)
