"""Client-token lifecycle (API.md section 11): minting never widens, regenerate, pair, exchange, admin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import api_event, load_function, make_principal, response_json
from tests.integration.test_auth_handlers import authorize_header

PAIR_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def user(username: str, role: str = "viewer"):
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    record = create_user(UserCreate(username=username, password="password-123", role=role))
    return make_principal(role, user_id=record.id, username=username)


@pytest.fixture
def alice(aws):
    return user("alice")


def invoke(name: str, lambda_context, method: str, path: str, **kwargs) -> dict:
    source_ip = kwargs.pop("source_ip", None)
    event = api_event(method, path, **kwargs)
    if source_ip:
        event["requestContext"]["http"]["sourceIp"] = source_ip
    return load_function(name).lambda_handler(event, lambda_context)


def mint(lambda_context, principal, scopes: list[str], **extra) -> dict:
    body = {"name": "t", "scopes": scopes, **extra}
    return invoke(
        "create_client_token", lambda_context, "POST", "/api/client-tokens", principal=principal, body=body
    )


def as_token_principal(alice, scopes: set[str], device_id: str | None = None):
    """The principal the authorizer builds for a client token of `scopes` (∩ the role)."""
    return make_principal(
        "viewer",
        user_id=alice.user_id,
        username=alice.username,
        device_id=device_id,
        scopes=frozenset(scopes) & alice.scopes,
    )


def regenerate(lambda_context, principal, token_id: int) -> dict:
    path = f"/api/client-tokens/{token_id}/regenerate"
    return invoke(
        "regenerate_client_token",
        lambda_context,
        "PUT",
        path,
        route="/api/client-tokens/{id}/regenerate",
        principal=principal,
        path_params={"id": str(token_id)},
    )


def pair(lambda_context, principal, token_id: int) -> dict:
    path = f"/api/client-tokens/{token_id}/pair"
    return invoke(
        "pair_client_token",
        lambda_context,
        "POST",
        path,
        route="/api/client-tokens/{id}/pair",
        principal=principal,
        path_params={"id": str(token_id)},
    )


def status(lambda_context, code: str) -> dict:
    path = f"/api/client-tokens/pair/{code}/status"
    return invoke(
        "get_pair_status",
        lambda_context,
        "GET",
        path,
        route="/api/client-tokens/pair/{code}/status",
        path_params={"code": code},
    )


def exchange(lambda_context, code, source_ip: str = "198.51.100.7") -> dict:
    return invoke(
        "exchange_pair_code",
        lambda_context,
        "POST",
        "/api/client-tokens/exchange",
        body={"code": code},
        source_ip=source_ip,
    )


def authenticated(lambda_context, raw: str) -> bool:
    return authorize_header(lambda_context, f"Bearer {raw}")["context"]["authenticated"] is True


# --- minting never widens -------------------------------------------------------------------------


def test_token_limited_to_me_write_cannot_mint_wider_scopes(alice, lambda_context):
    # Given a caller authenticated by a token holding only me.write (its owner's role has far more)
    limited = as_token_principal(alice, {"me.write"})

    # When it asks for a token with scopes its owner's role has but it does not
    response = mint(lambda_context, limited, ["me.write", "roms.read", "assets.write"])

    # Then RomM's 403 names exactly the missing ones, sorted, and nothing is created
    assert response["statusCode"] == 403
    assert response_json(response) == {
        "detail": "Requested scopes exceed your permissions: assets.write, roms.read"
    }
    assert mint(lambda_context, limited, ["me.write"])["statusCode"] == 201


def test_unknown_scope_names_are_refused_by_name(alice, lambda_context):
    response = mint(lambda_context, alice, ["roms.read", "roms.everything", "admin"])
    assert response["statusCode"] == 403
    assert (
        response_json(response)["detail"]
        == "Requested scopes exceed your permissions: admin, roms.everything"
    )


def test_scopes_of_features_this_service_lacks_are_carried(alice, lambda_context):
    # a Steam Deck plugin asks for roms.user.read and collections.read: granted to viewers, carried
    created = response_json(mint(lambda_context, alice, ["roms.user.read", "collections.read", "me.read"]))
    context = authorize_header(lambda_context, f"Bearer {created['raw_token']}")["context"]
    assert context["scopes"] == "collections.read me.read roms.user.read"


def test_device_bound_caller_mints_only_for_its_device(alice, lambda_context):
    bound = as_token_principal(alice, {"me.write", "roms.read"}, device_id="dev-1")

    other = mint(lambda_context, bound, ["roms.read"], device_id="dev-2")
    same = mint(lambda_context, bound, ["roms.read"])

    assert other["statusCode"] == 403
    assert same["statusCode"] == 201 and response_json(same)["device_id"] == "dev-1"


def test_regenerating_a_wider_token_is_minting(alice, lambda_context):
    wide = response_json(mint(lambda_context, alice, ["assets.write", "me.write"]))
    limited = as_token_principal(alice, {"me.write"})

    assert regenerate(lambda_context, limited, wide["id"])["statusCode"] == 403
    assert pair(lambda_context, limited, wide["id"])["statusCode"] == 403
    assert authenticated(lambda_context, wide["raw_token"])  # untouched


# --- regenerate ---------------------------------------------------------------------------------


def test_regenerated_token_refuses_its_old_value(alice, lambda_context):
    created = response_json(mint(lambda_context, alice, ["roms.read"]))

    response = regenerate(lambda_context, alice, created["id"])

    body = response_json(response)
    assert response["statusCode"] == 200 and body["id"] == created["id"] and body["scopes"] == ["roms.read"]
    assert body["raw_token"] != created["raw_token"]
    assert not authenticated(lambda_context, created["raw_token"])
    assert authenticated(lambda_context, body["raw_token"])


def test_regenerate_of_another_users_token_is_404(alice, lambda_context):
    created = response_json(mint(lambda_context, alice, ["roms.read"]))
    bob = user("bob")
    response = regenerate(lambda_context, bob, created["id"])
    assert response["statusCode"] == 404 and response_json(response) == {"detail": "Token not found"}


# --- pairing ------------------------------------------------------------------------------------


def test_pair_code_is_exchanged_exactly_once_for_a_fresh_token(alice, lambda_context):
    created = response_json(mint(lambda_context, alice, ["roms.read", "assets.read"]))
    paired = response_json(pair(lambda_context, alice, created["id"]))
    code = paired["code"]
    assert paired["expires_in"] == 60 and len(code) == 8 and set(code) <= set(PAIR_ALPHABET)
    # dashes and case are ignored, as RomM
    assert status(lambda_context, f"{code[:4]}-{code[4:]}".lower())["statusCode"] == 200

    first = exchange(lambda_context, code.lower())
    second = exchange(lambda_context, code)

    body = response_json(first)
    assert (
        first["statusCode"] == 200
        and body["id"] == created["id"]
        and body["scopes"] == ["assets.read", "roms.read"]
    )
    assert authenticated(lambda_context, body["raw_token"])
    assert not authenticated(lambda_context, created["raw_token"])  # the exchange regenerated it
    assert second["statusCode"] == 404
    assert response_json(second) == {"detail": "Invalid or expired pairing code"}
    assert status(lambda_context, code)["statusCode"] == 404


def test_pair_code_taken_once_even_when_exchanges_race(alice, lambda_context):
    # The exchange spends the code with one conditional delete: the repository hands it out once.
    from cloudsaves.services.token_pairing import pairing_repository

    created = response_json(mint(lambda_context, alice, ["roms.read"]))
    code = response_json(pair(lambda_context, alice, created["id"]))["code"]
    taken = [pairing_repository().take(code) for _ in range(2)]
    assert taken[0] is not None and taken[0].token_id == created["id"] and taken[1] is None


def test_expired_pair_code_is_refused_even_before_ttl_deletes_it(alice, lambda_context, monkeypatch):
    from cloudsaves import clock

    created = response_json(mint(lambda_context, alice, ["roms.read"]))
    code = response_json(pair(lambda_context, alice, created["id"]))["code"]
    later = clock.utcnow() + timedelta(seconds=61)
    monkeypatch.setattr("cloudsaves.services.token_pairing.utcnow", lambda: later)

    assert status(lambda_context, code)["statusCode"] == 404
    response = exchange(lambda_context, code)
    assert (
        response["statusCode"] == 404
        and response_json(response)["detail"] == "Invalid or expired pairing code"
    )
    assert authenticated(lambda_context, created["raw_token"])


def test_exchange_is_rate_limited_per_address(alice, lambda_context):
    answers = [exchange(lambda_context, "ABCD2345", source_ip="203.0.113.9")["statusCode"] for _ in range(6)]
    assert answers == [404] * 5 + [429]
    limited = exchange(lambda_context, "ABCD2345", source_ip="203.0.113.9")
    assert response_json(limited) == {"detail": "Too many exchange attempts. Try again later."}
    assert (
        exchange(lambda_context, "ABCD2345", source_ip="203.0.113.10")["statusCode"] == 404
    )  # another address


@pytest.mark.parametrize("code", ["", "x" * 65, "ABC", "ABCDEFG0", "../../etc", "ABCD 2345"])
def test_malformed_codes_are_4xx(alice, lambda_context, code):
    response = exchange(lambda_context, code, source_ip=f"192.0.2.{len(code)}")
    assert response["statusCode"] in (404, 422)
    assert "detail" in response_json(response)


def test_exchange_for_a_deleted_token_or_disabled_owner(alice, lambda_context):
    from cloudsaves.aws import table
    from cloudsaves.repositories import keys

    created = response_json(mint(lambda_context, alice, ["roms.read"]))
    code = response_json(pair(lambda_context, alice, created["id"]))["code"]
    path = f"/api/client-tokens/{created['id']}"
    invoke(
        "delete_client_token",
        lambda_context,
        "DELETE",
        path,
        route="/api/client-tokens/{id}",
        principal=alice,
        path_params={"id": str(created["id"])},
    )
    gone = exchange(lambda_context, code)
    assert gone["statusCode"] == 404 and response_json(gone) == {"detail": "Token no longer exists"}

    created = response_json(mint(lambda_context, alice, ["roms.read"]))
    code = response_json(pair(lambda_context, alice, created["id"]))["code"]
    table().update_item(
        Key={"pk": keys.user_pk("alice"), "sk": keys.PROFILE},
        UpdateExpression="SET enabled = :f",
        ExpressionAttributeValues={":f": False},
    )
    disabled = exchange(lambda_context, code)
    assert disabled["statusCode"] == 403 and response_json(disabled) == {"detail": "Token owner is disabled"}


def test_pair_status_and_exchange_need_no_credentials(alice, lambda_context):
    # the events carry no authorizer context at all, as API Gateway sends public routes
    assert status(lambda_context, "ABCD2345")["statusCode"] == 404
    assert exchange(lambda_context, "ABCD2345")["statusCode"] == 404


# --- admin --------------------------------------------------------------------------------------


def test_admin_lists_and_deletes_every_users_tokens(alice, lambda_context):
    bob = user("bob")
    admin = user("root", "admin")
    ids = [response_json(mint(lambda_context, who, ["roms.read"]))["id"] for who in (alice, bob, alice)]

    listed = invoke(
        "list_all_client_tokens", lambda_context, "GET", "/api/client-tokens/all", principal=admin
    )
    refused = invoke("list_all_client_tokens", lambda_context, "GET", "/api/client-tokens/all", principal=bob)

    rows = response_json(listed)
    assert listed["statusCode"] == 200 and refused["statusCode"] == 403
    assert [(r["id"], r["username"]) for r in rows] == sorted(
        zip(ids, ["alice", "bob", "alice"], strict=True)
    )
    assert all("raw_token" not in r and r["user_updated_at"] for r in rows)

    def admin_delete(principal, token_id):
        return invoke(
            "admin_delete_client_token",
            lambda_context,
            "DELETE",
            f"/api/client-tokens/{token_id}/admin",
            route="/api/client-tokens/{id}/admin",
            principal=principal,
            path_params={"id": str(token_id)},
        )

    assert admin_delete(alice, ids[1])["statusCode"] == 403
    assert admin_delete(admin, ids[1])["statusCode"] == 204
    assert admin_delete(admin, ids[1])["statusCode"] == 404
    remaining = response_json(
        invoke("list_all_client_tokens", lambda_context, "GET", "/api/client-tokens/all", principal=admin)
    )
    assert [r["id"] for r in remaining] == sorted([ids[0], ids[2]])
