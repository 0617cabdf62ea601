"""JWTs with RomM's claims (HS256, `iss` romm:oauth), so tokens from a RomM server sharing the secret work."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from cloudsaves.clock import utcnow
from cloudsaves.errors import Unauthorized
from cloudsaves.settings import get_settings

ISSUER = "romm:oauth"
ALGORITHM = "HS256"
ACCESS_TOKEN_SECONDS = 30 * 60
REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
CLIENT_TOKEN_PREFIX = "rmm_"

TokenType = Literal["access", "refresh"]


@dataclass(frozen=True)
class TokenClaims:
    username: str
    scopes: frozenset[str]
    token_type: str
    expires_at: int
    jti: str | None


@functools.cache
def signing_secret() -> str:
    settings = get_settings()
    if settings.jwt_secret:
        return settings.jwt_secret
    if not settings.jwt_secret_arn:
        raise RuntimeError("Set JWT_SECRET or JWT_SECRET_ARN")
    from cloudsaves.aws import secrets_client

    return str(secrets_client().get_secret_value(SecretId=settings.jwt_secret_arn)["SecretString"])


def issue_token(username: str, scopes: frozenset[str], token_type: TokenType) -> tuple[str, TokenClaims]:
    import jwt

    lifetime = ACCESS_TOKEN_SECONDS if token_type == "access" else REFRESH_TOKEN_SECONDS
    claims = TokenClaims(
        username=username,
        scopes=scopes,
        token_type=token_type,
        expires_at=int(utcnow().timestamp()) + lifetime,
        jti=secrets.token_urlsafe(16),
    )
    payload = {
        "sub": username,
        "iss": ISSUER,
        "scopes": " ".join(sorted(scopes)),
        "type": token_type,
        "exp": claims.expires_at,
        "iat": int(utcnow().timestamp()),
        "jti": claims.jti,
    }
    return jwt.encode(payload, signing_secret(), algorithm=ALGORITHM), claims


def decode_token(token: str) -> TokenClaims:
    """Verify signature, issuer and expiry; raise Unauthorized with a reason otherwise."""
    import jwt

    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            signing_secret(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token") from exc
    if not isinstance(payload.get("sub"), str) or not isinstance(payload.get("scopes", ""), str):
        raise Unauthorized("Invalid token")
    return TokenClaims(
        username=payload["sub"],
        scopes=frozenset(str(payload.get("scopes", "")).split()),
        token_type=str(payload.get("type", "")),  # no type is no access token (RomM checks it too)
        expires_at=int(payload["exp"]),
        jti=payload.get("jti"),
    )


def new_client_token() -> str:
    return CLIENT_TOKEN_PREFIX + secrets.token_hex(32)


def is_client_token(value: str) -> bool:
    body = value[len(CLIENT_TOKEN_PREFIX) :]
    return (
        value.startswith(CLIENT_TOKEN_PREFIX)
        and len(body) == 64
        and all(c in "0123456789abcdef" for c in body)
    )


def hash_client_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
