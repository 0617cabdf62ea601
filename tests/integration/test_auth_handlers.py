"""Auth, users and client tokens: handlers and services against moto in-process."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET, api_event, load_function, make_principal, response_json


@pytest.fixture
def admin(aws):
    from cloudsaves.services.users import ensure_admin

    return ensure_admin("root", "root-password-1")


def token_request(
    lambda_context, form: dict[str, str], content_type: str = "application/x-www-form-urlencoded"
):
    event = api_event("POST", "/api/token", body=urlencode(form), headers={"content-type": content_type})
    return load_function("token").lambda_handler(event, lambda_context)


def authorize_header(lambda_context, header: str) -> dict:
    event = {"version": "2.0", "type": "REQUEST", "headers": {"authorization": header}}
    return load_function("authorizer").lambda_handler(event, lambda_context)


def test_token_password_grant_issues_romm_claims(admin, lambda_context):
    response = token_request(lambda_context, {"username": "root", "password": "root-password-1"})
    body = response_json(response)
    assert response["statusCode"] == 200
    assert body["token_type"] == "bearer" and body["expires"] == 1800
    claims = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], issuer="romm:oauth")
    assert claims["sub"] == "root" and claims["type"] == "access"
    assert "users.write" in claims["scopes"].split()


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"username": "root", "password": "wrong-password"}, 401),
        ({"username": "nobody", "password": "whatever-pass"}, 401),
        ({"username": "root"}, 400),
        ({"grant_type": "client_credentials"}, 400),
        ({"username": "root", "password": "root-password-1", "scope": "roms.read nonsense.scope"}, 403),
    ],
)
def test_token_rejects_bad_requests(admin, lambda_context, form, status):
    response = token_request(lambda_context, form)
    assert response["statusCode"] == status
    assert "detail" in response_json(response)


def test_token_scope_subset_is_honoured(admin, lambda_context):
    body = response_json(
        token_request(
            lambda_context, {"username": "root", "password": "root-password-1", "scope": "roms.read"}
        )
    )
    context = authorize_header(lambda_context, f"Bearer {body['access_token']}")["context"]
    assert context["scopes"] == "roms.read"


def test_token_scope_above_the_role_is_romms_403(aws, lambda_context):
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    create_user(UserCreate(username="vic", password="viewer-pass-1", role="viewer"))
    form = {"username": "vic", "password": "viewer-pass-1", "scope": "roms.read users.write"}

    response = token_request(lambda_context, form)

    assert (response["statusCode"], response_json(response)) == (403, {"detail": "Insufficient scope"})


def test_refresh_token_is_single_use(admin, lambda_context):
    first = response_json(token_request(lambda_context, {"username": "root", "password": "root-password-1"}))
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    renewed = token_request(lambda_context, form)
    assert renewed["statusCode"] == 200
    assert response_json(renewed)["access_token"] != first["access_token"]
    assert token_request(lambda_context, form)["statusCode"] == 401


def test_refresh_token_does_not_authenticate_requests(admin, lambda_context):
    body = response_json(token_request(lambda_context, {"username": "root", "password": "root-password-1"}))
    assert (
        authorize_header(lambda_context, f"Bearer {body['refresh_token']}")["context"]["authenticated"]
        is False
    )


def test_authorizer_accepts_romm_issued_jwt(admin, lambda_context):
    token = jwt.encode(
        {
            "sub": "root",
            "iss": "romm:oauth",
            "scopes": "roms.read assets.read",
            "type": "access",
            "exp": int(time.time()) + 60,
        },
        TEST_JWT_SECRET,
        algorithm="HS256",
    )
    result = authorize_header(lambda_context, f"Bearer {token}")
    assert result["isAuthorized"] is True
    assert result["context"]["authenticated"] is True
    assert result["context"]["scopes"] == "assets.read roms.read"


def test_authorizer_carries_romms_scopes_for_features_this_service_lacks(admin, lambda_context):
    # a RomM server's JWT for a Steam Deck plugin: scopes of routes not served here are kept, not dropped
    scopes = "collections.read firmware.read logs.read playlists.write roms.user.read tasks.run"
    claims = {"sub": "root", "iss": "romm:oauth", "scopes": scopes, "type": "access"}
    claims["exp"] = int(time.time()) + 60
    token = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

    result = authorize_header(lambda_context, f"Bearer {token}")

    assert result["isAuthorized"] is True and result["context"]["scopes"] == scopes


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer not-a-jwt",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"root:wrong").decode(),
        "Digest abc",
        "Bearer rmm_" + "0" * 64,
        "Bearer "
        + jwt.encode({"sub": "root", "iss": "romm:oauth", "exp": 1, "type": "access"}, TEST_JWT_SECRET),
        "Bearer "
        + jwt.encode(
            {"sub": "root", "iss": "romm:oauth", "exp": int(time.time()) + 60, "type": "access"},
            "other-secret",
        ),
        "Bearer " + jwt.encode({"sub": "root", "iss": "romm:oauth", "type": "access"}, TEST_JWT_SECRET),
    ],
)
def test_authorizer_reports_bad_credentials_as_unauthenticated(admin, lambda_context, header):
    result = authorize_header(lambda_context, header)
    assert result["isAuthorized"] is True  # the function answers 401; a deny would be API Gateway's 403
    assert result["context"]["authenticated"] is False
    assert result["context"]["reason"]


def test_basic_auth_authenticates_with_role_scopes(admin, lambda_context):
    header = "Basic " + base64.b64encode(b"root:root-password-1").decode()
    context = authorize_header(lambda_context, header)["context"]
    assert context["authenticated"] is True and context["username"] == "root"
    assert "users.write" in context["scopes"].split()


def test_function_answers_401_with_www_authenticate_when_unauthenticated(admin, lambda_context):
    response = load_function("get_current_user").lambda_handler(
        api_event("GET", "/api/users/me", principal=None), lambda_context
    )
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == "Bearer"
    assert response_json(response) == {"detail": "Not authenticated"}


def test_create_user_needs_users_write(aws, lambda_context):
    event = api_event(
        "POST",
        "/api/users",
        principal=make_principal("editor"),
        body={"username": "eve", "password": "password-123", "role": "viewer"},
    )
    response = load_function("create_user").lambda_handler(event, lambda_context)
    assert response["statusCode"] == 403


def test_create_user_then_duplicate_is_409(aws, lambda_context):
    body = {"username": "alice", "password": "password-123", "role": "editor", "email": "a@example.com"}
    handler = load_function("create_user").lambda_handler
    created = handler(
        api_event("POST", "/api/users", principal=make_principal("admin"), body=body), lambda_context
    )
    assert created["statusCode"] == 201
    user = response_json(created)
    assert user["username"] == "alice" and user["role"] == "editor" and user["enabled"] is True
    assert "password" not in str(user)
    again = handler(
        api_event("POST", "/api/users", principal=make_principal("admin"), body=body), lambda_context
    )
    assert again["statusCode"] == 409


@pytest.mark.parametrize(
    "body",
    [
        {"username": "../evil", "password": "password-123"},
        {"username": "bob", "password": "short"},
        {"username": "bob", "password": "password-123", "role": "superuser"},
        {"username": "bob"},
    ],
)
def test_create_user_validates_input(aws, lambda_context, body):
    event = api_event("POST", "/api/users", principal=make_principal("admin"), body=body)
    response = load_function("create_user").lambda_handler(event, lambda_context)
    assert response["statusCode"] == 422
    assert isinstance(response_json(response)["detail"], list)


def test_create_user_malformed_json_is_4xx(aws, lambda_context):
    event = api_event(
        "POST",
        "/api/users",
        principal=make_principal("admin"),
        body="{not json",
        headers={"content-type": "application/json"},
    )
    response = load_function("create_user").lambda_handler(event, lambda_context)
    assert 400 <= response["statusCode"] < 500
    assert "detail" in response_json(response)


def test_stored_password_is_a_bcrypt_hash(admin):
    from cloudsaves.services.users import users_repository

    stored = users_repository().get("root")
    assert stored is not None
    assert stored.password_hash.startswith("$2b$") and "root-password-1" not in stored.password_hash
