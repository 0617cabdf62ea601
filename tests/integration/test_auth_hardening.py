"""Attacker cases on authentication: token types, bcrypt's 72-byte limit, what a refusal may be based on."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlencode

import bcrypt
import jwt
import pytest

from cloudsaves.repositories.users import UsersRepository
from tests.conftest import TEST_JWT_SECRET, api_event, load_function, make_principal, response_json

LONG_MULTIBYTE = "密" * 72  # 72 characters, 216 bytes: past bcrypt's 72-byte limit


def _authorize(lambda_context: Any, header: str) -> dict[str, Any]:
    event = {"version": "2.0", "type": "REQUEST", "headers": {"authorization": header}}
    return load_function("authorizer").lambda_handler(event, lambda_context)["context"]


def _create_user(lambda_context: Any, username: str, password: str) -> dict[str, Any]:
    body = {"username": username, "password": password, "role": "viewer"}
    event = api_event("POST", "/api/users", principal=make_principal("admin"), body=body)
    return load_function("create_user").lambda_handler(event, lambda_context)


def _token(lambda_context: Any, username: str, password: str) -> dict[str, Any]:
    body = urlencode({"username": username, "password": password})
    event = api_event(
        "POST", "/api/token", body=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    return load_function("token").lambda_handler(event, lambda_context)


def test_jwt_without_a_type_is_not_an_access_token(aws, lambda_context):
    # Given a user and a correctly signed, unexpired RomM-style JWT that has no `type` claim
    from cloudsaves.services.users import ensure_admin

    ensure_admin("root", "root-password-1")
    claims = {"sub": "root", "iss": "romm:oauth", "scopes": "users.write", "exp": int(time.time()) + 60}
    untyped = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")
    typed = jwt.encode({**claims, "type": "access"}, TEST_JWT_SECRET, algorithm="HS256")

    # Then only the typed one authenticates
    assert _authorize(lambda_context, f"Bearer {typed}")["authenticated"] is True
    refused = _authorize(lambda_context, f"Bearer {untyped}")
    assert refused == {"authenticated": False, "reason": "Only access tokens authenticate requests"}


def test_long_multibyte_password_is_accepted_and_its_first_72_bytes_count(aws, lambda_context):
    # Given a user created with 72 three-byte characters (a 500 before: bcrypt 5 refuses > 72 bytes)
    created = _create_user(lambda_context, "mei", LONG_MULTIBYTE)
    assert created["statusCode"] == 201, created["body"]

    # Then it logs in through the token grant and Basic, and, as RomM (passlib), only the first 72 bytes count
    assert _token(lambda_context, "mei", LONG_MULTIBYTE)["statusCode"] == 200
    basic = base64.b64encode(f"mei:{LONG_MULTIBYTE}".encode()).decode()
    assert _authorize(lambda_context, f"Basic {basic}")["authenticated"] is True
    assert _token(lambda_context, "mei", "密" * 24)["statusCode"] == 200  # the same 72 bytes
    assert _token(lambda_context, "mei", "密" * 23)["statusCode"] == 401


def test_password_hashed_by_romm_from_a_long_password_verifies(aws, lambda_context):
    # Given a hash as RomM's passlib stores it for a password past 72 bytes (its first 72 bytes)
    from cloudsaves.models.users import UserRecord
    from cloudsaves.services.users import users_repository

    password = "é" * 50  # 100 bytes
    romm_hash = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    users_repository().create(
        UserRecord(
            id=77,
            username="romm-user",
            password_hash=romm_hash,
            role="viewer",
            created_at="2025-01-01T00:00:00Z",
        )
    )

    assert _token(lambda_context, "romm-user", password)["statusCode"] == 200


def test_create_user_with_a_lone_surrogate_password_is_400(aws, lambda_context):
    body = '{"username": "eve", "password": "abcdefgh\\ud800"}'
    event = api_event(
        "POST",
        "/api/users",
        principal=make_principal("admin"),
        body=body,
        headers={"content-type": "application/json"},
    )

    response = load_function("create_user").lambda_handler(event, lambda_context)

    assert response["statusCode"] == 400
    assert "surrogate" in response_json(response)["detail"]


class RecordingTable:
    """A table that records each GetItem's arguments and finds nothing."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


@pytest.mark.parametrize(
    "read",
    [
        lambda repo: repo.find_client_token("0" * 64),
        lambda repo: repo.get("someone"),
    ],
    ids=["client-token", "user"],
)
def test_authentication_reads_are_strongly_consistent(read):
    # API Gateway caches refusals too: a token minted a moment ago must not be refused by a stale read
    table = RecordingTable()

    read(UsersRepository(table))

    assert [call.get("ConsistentRead") for call in table.calls] == [True]


def test_authorizer_raises_on_an_aws_failure_rather_than_refusing(aws, lambda_context, monkeypatch):
    # API Gateway caches what the authorizer answers, refusals included: a throttled read must not
    # become a refusal cached for AuthorizerCacheSeconds, so the invocation fails instead
    from botocore.exceptions import ClientError

    def throttled(*_args: Any, **_kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")

    monkeypatch.setattr(UsersRepository, "get", throttled)
    basic = base64.b64encode(b"root:root-password-1").decode()

    with pytest.raises(ClientError):
        _authorize(lambda_context, f"Basic {basic}")
