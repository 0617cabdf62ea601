"""Pairing a client with an existing client token by a short code, as RomM: the owner asks for a code
(`pair`), the device shows it is pending (`status`) and trades it for a fresh raw token (`exchange`).

A code lives 60 s (DynamoDB TTL deletes late, so the stored expiry is checked on every read) and is
spent by one conditional delete: of two exchanges racing on one code, exactly one gets a token.
"""

from __future__ import annotations

import secrets

from cloudsaves.aws import table
from cloudsaves.clock import utcnow
from cloudsaves.errors import ConcurrentUpdate, Forbidden, NotFound
from cloudsaves.http import Principal
from cloudsaves.models.users import ClientTokenCreated, ClientTokenPairSchema, PairCodeRecord
from cloudsaves.repositories.pairing import PairingRepository
from cloudsaves.services.client_tokens import TOKEN_NOT_FOUND, check_may_reveal, regenerate_client_token
from cloudsaves.services.rate_limits import RateLimit, enforce_rate_limit
from cloudsaves.services.users import users_repository

PAIR_CODE_LENGTH = 8
PAIR_CODE_TTL_SECONDS = 60
PAIR_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # RomM's: no 0/O, 1/I/L
# RomM's limit: more than 5 exchange attempts from one address in a minute answer 429.
EXCHANGE_LIMIT = RateLimit("client-token-exchange", 5, 60, "Too many exchange attempts. Try again later.")
_CODE_ATTEMPTS = 5


def pairing_repository() -> PairingRepository:
    return PairingRepository(table())


def generate_pair_code() -> str:
    return "".join(secrets.choice(PAIR_ALPHABET) for _ in range(PAIR_CODE_LENGTH))


def normalize_code(code: str) -> str | None:
    """RomM ignores dashes and case; anything that cannot be a code is None (never a valid key)."""
    normalized = code.replace("-", "").upper()
    if len(normalized) != PAIR_CODE_LENGTH or any(c not in PAIR_ALPHABET for c in normalized):
        return None
    return normalized


def pair_client_token(principal: Principal, token_id: int) -> ClientTokenPairSchema:
    """A pairing code for one of the caller's tokens (one the caller could mint itself)."""
    token = users_repository().get_client_token(principal.user_id, token_id)
    if token is None:
        raise NotFound(TOKEN_NOT_FOUND)
    check_may_reveal(principal, token)
    now = int(utcnow().timestamp())
    repo = pairing_repository()
    for _ in range(_CODE_ATTEMPTS):
        pair = PairCodeRecord(
            code=generate_pair_code(),
            token_id=token_id,
            user_id=principal.user_id,
            username=principal.username,
            expires_at_epoch=now + PAIR_CODE_TTL_SECONDS,
        )
        try:
            repo.create(pair, now)
        except ConcurrentUpdate:
            continue  # that code is live for someone else: draw again
        return ClientTokenPairSchema(code=pair.code, expires_in=PAIR_CODE_TTL_SECONDS)
    raise RuntimeError("Could not allocate a pairing code")


def pair_code_is_pending(code: str) -> bool:
    normalized = normalize_code(code)
    pair = pairing_repository().get(normalized) if normalized else None
    return pair is not None and _live(pair)


def exchange_pair_code(code: str, source_address: str) -> ClientTokenCreated:
    """Spend the code once: a fresh raw value for its token (the token's previous value stops working)."""
    enforce_rate_limit(EXCHANGE_LIMIT, source_address)
    normalized = normalize_code(code)
    pair = pairing_repository().take(normalized) if normalized else None
    if pair is None or not _live(pair):
        raise NotFound("Invalid or expired pairing code")
    owner = users_repository().get(pair.username)
    if owner is None or not owner.enabled or owner.id != pair.user_id:
        raise Forbidden("Token owner is disabled")
    return regenerate_client_token(pair.user_id, pair.token_id, missing="Token no longer exists")


def _live(pair: PairCodeRecord) -> bool:
    return pair.expires_at_epoch > int(utcnow().timestamp())
