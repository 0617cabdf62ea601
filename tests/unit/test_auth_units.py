"""Roles, scopes, tokens and the principal's scope check: pure units, no AWS."""

from __future__ import annotations

import time

import jwt
import pytest

from cloudsaves.auth.scopes import ROLE_SCOPES, Role, Scope
from cloudsaves.auth.tokens import (
    decode_token,
    hash_client_token,
    is_client_token,
    issue_token,
    new_client_token,
)
from cloudsaves.errors import Forbidden, Unauthorized
from cloudsaves.http import principal_context, principal_from_event
from tests.conftest import TEST_JWT_SECRET, make_principal


def test_roles_grant_romm_legacy_scopes():
    viewer, editor, admin = (ROLE_SCOPES[r] for r in (Role.VIEWER, Role.EDITOR, Role.ADMIN))
    assert Scope.USERS_READ not in viewer and Scope.ROMS_WRITE not in viewer
    assert {Scope.ME_WRITE, Scope.ASSETS_WRITE, Scope.DEVICES_WRITE, Scope.ASSETS_READ} <= viewer
    assert editor - viewer == {Scope.ROMS_WRITE, Scope.PLATFORMS_WRITE}
    assert {Scope.ROMS_USER_READ, Scope.ROMS_USER_WRITE} <= viewer  # play sessions (RomM 5.2)
    assert admin == set(Scope) and len(admin) == 14


def test_access_token_round_trips_with_romm_claims():
    token, claims = issue_token("alice", frozenset({"roms.read", "assets.read"}), "access")
    payload = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], issuer="romm:oauth")
    assert payload["scopes"] == "assets.read roms.read" and payload["type"] == "access"
    decoded = decode_token(token)
    assert (
        decoded.username == "alice" and decoded.scopes == claims.scopes and decoded.expires_at > time.time()
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"sub": "alice", "iss": "someone-else", "exp": 4_000_000_000},
        {"sub": "alice", "iss": "romm:oauth"},  # exp is required
        {"iss": "romm:oauth", "exp": 4_000_000_000},  # so is sub
    ],
)
def test_decode_token_rejects_wrong_claims(payload):
    with pytest.raises(Unauthorized):
        decode_token(jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256"))


def test_decode_token_rejects_alg_none():
    unsigned = jwt.encode({"sub": "alice", "iss": "romm:oauth", "exp": 4_000_000_000}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        decode_token(unsigned)


def test_client_tokens_are_rmm_64_hex_and_hashed():
    raw = new_client_token()
    assert is_client_token(raw) and len(raw) == 68
    assert not is_client_token(raw[:-1]) and not is_client_token(raw.upper())
    assert hash_client_token(raw) != raw and len(hash_client_token(raw)) == 64


def test_principal_require_raises_forbidden_for_missing_scope():
    principal = make_principal("viewer")
    principal.require(Scope.ASSETS_READ)
    with pytest.raises(Forbidden):
        principal.require(Scope.ASSETS_READ, Scope.USERS_WRITE)


def test_principal_survives_the_authorizer_context():
    principal = make_principal("editor", user_id=77, device_id="dev-1")
    event = {"requestContext": {"authorizer": {"lambda": principal_context(principal)}}}
    assert principal_from_event(event) == principal


@pytest.mark.parametrize("context", [None, {}, {"authenticated": False, "reason": "Token has expired"}])
def test_unauthenticated_context_is_401_with_reason(context):
    event = {"requestContext": {"authorizer": {"lambda": context}}} if context is not None else {}
    with pytest.raises(Unauthorized) as raised:
        principal_from_event(event)
    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}
    if context:
        assert raised.value.detail == "Token has expired"
