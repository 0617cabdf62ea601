"""Authentication: the authorizer's credential check and the token endpoint's grants."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cloudsaves.auth.passwords import verify_password
from cloudsaves.auth.scopes import ROLE_SCOPES
from cloudsaves.auth.tokens import (
    REFRESH_TOKEN_SECONDS,
    decode_token,
    hash_client_token,
    is_client_token,
    issue_token,
)
from cloudsaves.clock import now_iso, utcnow
from cloudsaves.errors import AppError, BadRequest, Forbidden, ServiceUnavailable, Unauthorized
from cloudsaves.http import Principal, principal_context
from cloudsaves.models.users import TokenResponse, UserRecord
from cloudsaves.services.users import users_repository


def authenticate(authorization: str) -> Principal:
    """The caller behind an Authorization header value, or Unauthorized with the reason."""
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        raise Unauthorized("Malformed Authorization header")
    match scheme.lower():
        case "bearer" if is_client_token(credentials):
            return _client_token_principal(credentials)
        case "bearer":
            return _jwt_principal(credentials)
        case "basic":
            username, password = _basic_credentials(credentials)
            return _principal(check_password(username, password), None, None)
        case _:
            raise Unauthorized("Unsupported authorization scheme")


def authorizer_context(authorization: str) -> dict[str, Any]:
    """What the authorizer hands to functions: the caller, or why there is none (they answer 401)."""
    try:
        principal = authenticate(authorization)
    except ServiceUnavailable:
        raise  # a busy table is no verdict: a refusal would be cached
    except AppError as exc:
        return {"authenticated": False, "reason": str(exc.detail)}
    return principal_context(principal)


def grant_token(form: dict[str, str]) -> TokenResponse:
    """POST /api/token: the password and refresh_token grants of OAuth2, as RomM."""
    grant_type = form.get("grant_type") or "password"
    if grant_type == "password":
        username, password = form.get("username"), form.get("password")
        if not username or not password:
            raise BadRequest("Missing username or password")
        return password_grant(username, password, form.get("scope"))
    if grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise BadRequest("Missing refresh token")
        return refresh_grant(form["refresh_token"])
    raise BadRequest(f"Invalid or unsupported grant type: {grant_type}")


def check_password(username: str, password: str) -> UserRecord:
    user = users_repository().get(username)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthorized("Incorrect username or password")
    if not user.enabled:
        raise Forbidden("Disabled user")
    return user


def password_grant(username: str, password: str, scope: str | None) -> TokenResponse:
    user = check_password(username, password)
    role_scopes = ROLE_SCOPES[user.role]
    requested = frozenset(scope.split()) if scope and scope.strip() else role_scopes
    if not requested <= role_scopes:
        raise Forbidden("Insufficient scope")
    return _token_pair(user, requested)


def refresh_grant(refresh_token: str) -> TokenResponse:
    claims = decode_token(refresh_token)
    if claims.token_type != "refresh" or not claims.jti:
        raise Unauthorized("Invalid refresh token")
    repo = users_repository()
    if not repo.consume_refresh_token(claims.jti, claims.username):
        raise Unauthorized("Refresh token already used or revoked")
    user = repo.get(claims.username)
    if user is None:
        raise Unauthorized("Invalid refresh token")
    if not user.enabled:
        raise Forbidden("Disabled user")
    # The role may have shrunk since the token was issued.
    return _token_pair(user, claims.scopes & ROLE_SCOPES[user.role])


def _token_pair(user: UserRecord, scopes: frozenset[str]) -> TokenResponse:
    access, access_claims = issue_token(user.username, scopes, "access")
    refresh, refresh_claims = issue_token(user.username, scopes, "refresh")
    assert refresh_claims.jti is not None
    users_repository().store_refresh_token(refresh_claims.jti, user.username, refresh_claims.expires_at)
    now = int(utcnow().timestamp())
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires=access_claims.expires_at - now,
        refresh_expires=REFRESH_TOKEN_SECONDS,
    )


def _jwt_principal(token: str) -> Principal:
    claims = decode_token(token)
    if claims.token_type != "access":
        raise Unauthorized("Only access tokens authenticate requests")
    user = users_repository().get(claims.username)
    if user is None:
        raise Unauthorized("Invalid token")
    return _principal(user, claims.scopes, None)


def _client_token_principal(raw: str) -> Principal:
    repo = users_repository()
    token = repo.find_client_token(hash_client_token(raw))
    if token is None:
        raise Unauthorized("Invalid client token")
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise Unauthorized("Client token has expired")
    user = repo.get(token.username)
    if user is None:
        raise Unauthorized("Invalid client token")
    repo.touch_client_token(token, now_iso())
    return _principal(user, frozenset(token.scopes), token.device_id)


def _principal(user: UserRecord, granted: frozenset[str] | None, device_id: str | None) -> Principal:
    if not user.enabled:
        raise Unauthorized("Disabled user")
    role_scopes = ROLE_SCOPES[user.role]
    scopes = role_scopes if granted is None else granted & role_scopes
    return Principal(user.id, user.username, user.role.value, scopes, device_id)


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("Malformed Basic credentials") from exc
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        raise Unauthorized("Malformed Basic credentials")
    return username, password


def authenticate_basic(authorization: str | None) -> Principal:
    """HTTP Basic only (the RetroArch door): the username with its password, or with one of that
    user's client tokens (`rmm_...`) as the password, which costs a SHA-256 rather than a bcrypt."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        raise Unauthorized("Not authenticated")
    username, password = _basic_credentials(credentials.strip())
    if not is_client_token(password):
        return _principal(check_password(username, password), None, None)
    principal = _client_token_principal(password)
    if principal.username != username:
        raise Unauthorized("Invalid client token")
    return principal
