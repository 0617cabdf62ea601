"""Client API tokens (`rmm_` + 64 hex): stored only as SHA-256; a token never widens its creator's rights."""

from __future__ import annotations

from datetime import timedelta

from cloudsaves.auth.scopes import scopes_beyond
from cloudsaves.auth.tokens import hash_client_token, new_client_token
from cloudsaves.clock import utcnow
from cloudsaves.errors import ConcurrentUpdate, Conflict, Forbidden, NotFound
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.users import (
    EXPIRES_IN_DAYS,
    ClientTokenAdminSchema,
    ClientTokenCreate,
    ClientTokenCreated,
    ClientTokenRecord,
    ClientTokenSchema,
)
from cloudsaves.services.users import users_repository

_ID_ATTEMPTS = 5
_REGENERATE_ATTEMPTS = 3
TOKEN_NOT_FOUND = "Token not found"


def check_mintable(principal: Principal, scopes: list[str]) -> None:
    """Minting never widens: every requested scope must be one the caller holds right now.

    `principal.scopes` are the effective ones (a client token's own scopes ∩ its owner's role, the
    role's under password, Basic or JWT login), so a token limited to me.write mints only me.write.
    """
    beyond = scopes_beyond(scopes, principal.scopes)
    if beyond:
        raise Forbidden(f"Requested scopes exceed your permissions: {', '.join(beyond)}")


def check_may_reveal(principal: Principal, token: ClientTokenRecord) -> None:
    """Regenerating or pairing hands out a token's value: only to a caller who could mint that token."""
    check_mintable(principal, token.scopes)
    if principal.device_id is not None and token.device_id != principal.device_id:
        raise Forbidden("A device-bound token can only manage tokens bound to its own device")


def create_client_token(principal: Principal, request: ClientTokenCreate) -> ClientTokenCreated:
    check_mintable(principal, request.scopes)
    device_id = request.device_id
    if principal.device_id is not None:
        # A device-bound caller mints only for its own device (else a stolen handheld token mints
        # an unbound one).
        if device_id not in (None, principal.device_id):
            raise Forbidden("A device-bound token can only create tokens bound to its own device")
        device_id = principal.device_id
    elif device_id is not None:
        from cloudsaves.services.devices import resolve_device

        resolve_device(principal, device_id, write=False)  # 404 unless it is the caller's device
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
            device_id=device_id,
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
        raise NotFound(TOKEN_NOT_FOUND)
    repo.delete_client_token(token)


def regenerate_own_client_token(principal: Principal, token_id: int) -> ClientTokenCreated:
    return regenerate_client_token(principal.user_id, token_id, caller=principal)


def regenerate_client_token(
    user_id: int, token_id: int, *, missing: str = TOKEN_NOT_FOUND, caller: Principal | None = None
) -> ClientTokenCreated:
    """A new raw value for the user's token; the old one stops working in the same transaction."""
    repo = users_repository()
    for _ in range(_REGENERATE_ATTEMPTS):
        token = repo.get_client_token(user_id, token_id)
        if token is None:
            raise NotFound(missing)
        if caller is not None:
            check_may_reveal(caller, token)
        raw = new_client_token()
        try:
            renewed = repo.replace_client_token_hash(token, hash_client_token(raw))
        except ConcurrentUpdate:
            continue  # regenerated or deleted meanwhile: read again
        return ClientTokenCreated(**ClientTokenSchema.of(renewed).model_dump(), raw_token=raw)
    raise Conflict("The token kept changing while being regenerated; try again")


def list_all_client_tokens() -> list[ClientTokenAdminSchema]:
    """Every user's tokens, with their owners (users.read)."""
    repo = users_repository()
    tokens = repo.list_all_client_tokens()
    owners = repo.get_many({token.username for token in tokens})
    return [
        ClientTokenAdminSchema(
            **ClientTokenSchema.of(token).model_dump(),
            username=token.username,
            user_updated_at=owners[token.username].created_at,
        )
        for token in tokens
        if token.username in owners
    ]


def admin_delete_client_token(token_id: int) -> None:
    """Revoke any user's token (users.write)."""
    repo = users_repository()
    token = repo.find_client_token_by_id(token_id)
    if token is None:
        raise NotFound(TOKEN_NOT_FOUND)
    repo.delete_client_token(token)
