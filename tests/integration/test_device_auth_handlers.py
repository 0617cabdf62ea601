"""Device pairing (/api/auth/device/*): the handlers → services → moto DynamoDB, with the clock injected."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from cloudsaves.auth.scopes import Scope
from cloudsaves.clock import utcnow
from cloudsaves.http import Principal, principal_from_event
from cloudsaves.services import device_auth, rate_limits
from tests.conftest import api_event, load_event, load_function, make_principal, response_json

pytestmark = pytest.mark.usefixtures("aws")

INIT = {
    "client_device_identifier": "install-uuid-abc",
    "name": "Pete muOS",
    "client": "grout",
    "platform": "muOS",
    "client_version": "1.4.0",
    "requested_scopes": ["roms.read", "assets.read", "assets.write", "devices.write"],
}
DEVICE_IP = "198.51.100.7"
UNKNOWN = {"detail": "Unknown or expired code"}


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    for module in (device_auth, rate_limits):
        monkeypatch.setattr(module, "utcnow", lambda: clock.now)
    return clock


@pytest.fixture
def alice() -> Principal:
    return _user("alice", "viewer")


@cache
def _module(function_dir: str) -> ModuleType:
    return load_function(function_dir)


def _call(function_dir: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _module(function_dir).lambda_handler(event, context)


def _user(username: str, role: str) -> Principal:
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    user = create_user(UserCreate(username=username, password="correct-horse-1", role=role))
    return make_principal(role, user_id=user.id, username=username)


def _from(ip: str, event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["http"]["sourceIp"] = ip
    return event


def _init(ctx: Any, body: Any = None, ip: str = DEVICE_IP) -> dict[str, Any]:
    event = api_event("POST", "/api/auth/device/init", body=INIT if body is None else body)
    return _call("init_device_auth", _from(ip, event), ctx)


def _started(ctx: Any, **changes: Any) -> dict[str, Any]:
    response = _init(ctx, {**INIT, **changes})
    assert response["statusCode"] == 201, response
    return response_json(response)


def _pending(ctx: Any, principal: Principal | None, user_code: str) -> dict[str, Any]:
    route = "/api/auth/device/pending/{user_code}"
    event = api_event(
        "GET",
        f"/api/auth/device/pending/{user_code}",
        route=route,
        principal=principal,
        path_params={"user_code": user_code},
    )
    return _call("get_device_auth_pending", event, ctx)


def _approve(ctx: Any, principal: Principal | None, user_code: str, scopes: list[str], **extra: Any) -> dict:
    body = {"user_code": user_code, "approved_scopes": scopes, **extra}
    event = api_event("POST", "/api/auth/device/approve", principal=principal, body=body)
    return _call("approve_device_auth", event, ctx)


def _deny(ctx: Any, principal: Principal | None, user_code: str) -> dict[str, Any]:
    event = api_event("POST", "/api/auth/device/deny", principal=principal, body={"user_code": user_code})
    return _call("deny_device_auth", event, ctx)


def _poll(ctx: Any, device_code: str, ip: str = DEVICE_IP) -> dict[str, Any]:
    event = api_event("POST", "/api/auth/device/token", body={"device_code": device_code})
    return _call("poll_device_auth_token", _from(ip, event), ctx)


def _detail(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], response_json(response)["detail"]


def _bearer(ctx: Any, token: str) -> Principal:
    """The principal the authorizer establishes for a token, as a function would read it."""
    event = {"version": "2.0", "type": "REQUEST", "headers": {"authorization": f"Bearer {token}"}}
    verdict = _call("authorizer", event, ctx)["context"]
    return principal_from_event({"requestContext": {"authorizer": {"lambda": verdict}}})


def _paired(ctx: Any, approver: Principal, scopes: list[str], **init: Any) -> dict[str, Any]:
    started = _started(ctx, **init)
    assert _approve(ctx, approver, started["user_code"], scopes)["statusCode"] == 200
    issued = _poll(ctx, started["device_code"])
    assert issued["statusCode"] == 200, issued
    return response_json(issued)


# --- the whole flow ------------------------------------------------------------------------------


def test_device_auth_full_flow_pairs_a_device_with_a_bound_token(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    started = _started(lambda_context)
    assert set(started) == {
        "device_code",
        "user_code",
        "verification_path",
        "verification_path_complete",
        "expires_in",
        "interval",
    }
    assert len(started["device_code"]) == 64 and len(started["user_code"]) == 8
    assert (started["expires_in"], started["interval"]) == (600, 5)
    assert started["verification_path"] == "/pair/device"
    assert started["verification_path_complete"] == f"/pair/device?user_code={started['user_code']}"

    pending = _pending(lambda_context, alice, started["user_code"])
    assert pending["statusCode"] == 200
    assert response_json(pending) == {
        "client_device_identifier": "install-uuid-abc",
        "name": "Pete muOS",
        "client": "grout",
        "platform": "muOS",
        "client_version": "1.4.0",
        "requested_scopes": sorted(INIT["requested_scopes"]),
        "allowed_scopes": sorted(INIT["requested_scopes"]),
        "expires_at": response_json(pending)["expires_at"],
    }
    expires_at = datetime.fromisoformat(response_json(pending)["expires_at"])
    assert expires_at == clock.now + timedelta(seconds=600)
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "authorization_pending")

    approved = _approve(
        lambda_context, alice, started["user_code"], ["assets.read", "assets.write"], device_name="Pete's"
    )
    assert approved["statusCode"] == 200
    device_id = response_json(approved)["device_id"]
    assert response_json(approved) == {"device_id": device_id, "device_name": "Pete's"}

    clock.advance(5)
    issued = _poll(lambda_context, started["device_code"])
    assert issued["statusCode"] == 200
    token = response_json(issued)
    assert token == {
        "access_token": token["access_token"],
        "device_id": device_id,
        "scopes": ["assets.read", "assets.write"],
        "expires_at": None,
    }
    assert token["access_token"].startswith("rmm_") and len(token["access_token"]) == 68
    # exactly once: the flow is gone
    clock.advance(5)
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "expired_token")

    # The token authenticates as alice, bound to the device, with only the approved scopes.
    device = _bearer(lambda_context, token["access_token"])
    assert (device.user_id, device.device_id) == (alice.user_id, device_id)
    assert device.scopes == {"assets.read", "assets.write"}
    shown = _call(
        "get_device",
        api_event(
            "GET",
            f"/api/devices/{device_id}",
            route="/api/devices/{device_id}",
            principal=alice,
            path_params={"device_id": device_id},
        ),
        lambda_context,
    )
    assert response_json(shown) | {"last_seen": None, "created_at": None, "updated_at": None} == {
        "id": device_id,
        "user_id": alice.user_id,
        "name": "Pete's",
        "platform": "muOS",
        "client": "grout",
        "client_version": "1.4.0",
        "ip_address": None,
        "mac_address": None,
        "hostname": None,
        "client_device_identifier": "install-uuid-abc",
        "sync_mode": "api",
        "sync_enabled": True,
        "sync_config": None,
        "last_seen": None,
        "created_at": None,
        "updated_at": None,
    }
    tokens = response_json(
        _call("list_client_tokens", api_event("GET", "/api/client-tokens", principal=alice), lambda_context)
    )
    assert [(t["name"], t["device_id"], t["scopes"]) for t in tokens] == [
        ("Pete's", device_id, ["assets.read", "assets.write"])
    ]


def test_device_auth_table_holds_neither_device_code_nor_raw_token(
    lambda_context: Any, alice: Principal
) -> None:
    from cloudsaves.aws import table

    started = _started(lambda_context)
    _approve(lambda_context, alice, started["user_code"], ["assets.read"])
    stored = json.dumps(table().scan()["Items"], default=str)  # a test may look at everything
    issued = response_json(_poll(lambda_context, started["device_code"]))

    assert started["device_code"] not in stored
    assert issued["access_token"] not in stored
    assert issued["access_token"].removeprefix("rmm_") not in stored


def test_device_auth_approve_accepts_expires_in_and_dashed_lower_case_codes(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    started = _started(lambda_context)
    code = started["user_code"]
    typed = f"{code[:4]}-{code[4:]}".lower()
    assert _pending(lambda_context, alice, typed)["statusCode"] == 200

    assert _approve(lambda_context, alice, typed, ["assets.read"], expires_in="30d")["statusCode"] == 200
    issued = response_json(_poll(lambda_context, started["device_code"]))
    assert datetime.fromisoformat(issued["expires_at"]) == clock.now + timedelta(days=30)

    bad = _approve(
        lambda_context, alice, _started(lambda_context)["user_code"], ["assets.read"], expires_in="2d"
    )
    assert bad["statusCode"] == 422


# --- scopes --------------------------------------------------------------------------------------


def test_device_auth_pending_strips_scopes_the_account_lacks(lambda_context: Any, alice: Principal) -> None:
    started = _started(lambda_context, requested_scopes=["roms.read", "users.write"])

    shown = response_json(_pending(lambda_context, alice, started["user_code"]))

    assert shown["requested_scopes"] == ["roms.read", "users.write"]
    assert shown["allowed_scopes"] == ["roms.read"]


@pytest.mark.parametrize(
    "approved",
    [
        ["roms.read", "users.write"],  # beyond the viewer's account
        ["roms.read", "devices.read"],  # beyond what the device requested
        ["not.a.scope"],
    ],
)
def test_device_auth_approve_beyond_requested_or_account_is_403_and_leaves_the_flow_pending(
    lambda_context: Any, alice: Principal, approved: list[str]
) -> None:
    started = _started(lambda_context, requested_scopes=["roms.read", "users.write"])

    refused = _approve(lambda_context, alice, started["user_code"], approved)

    assert _detail(refused) == (403, "Approved scopes exceed what's allowed for this user")
    assert _pending(lambda_context, alice, started["user_code"])["statusCode"] == 200
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "authorization_pending")


def test_device_auth_approve_is_bounded_by_the_account_not_the_approving_credential(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    # A credential carrying only me.write (say, a narrow client token) approves for the account.
    narrow = make_principal(
        "viewer", user_id=alice.user_id, username=alice.username, scopes=frozenset({"me.write"})
    )
    started = _started(lambda_context)

    assert _approve(lambda_context, narrow, started["user_code"], ["assets.read"])["statusCode"] == 200


def test_device_auth_empty_approved_scopes_is_422(lambda_context: Any, alice: Principal) -> None:
    started = _started(lambda_context)

    assert _approve(lambda_context, alice, started["user_code"], [])["statusCode"] == 422


# --- deny, decided and expired codes --------------------------------------------------------------


def test_device_auth_deny_then_access_denied_for_a_minute_then_expired(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    started = _started(lambda_context)

    denied = _deny(lambda_context, alice, started["user_code"])

    assert (denied["statusCode"], response_json(denied)) == (200, None)
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "access_denied")
    clock.advance(59)
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "access_denied")
    clock.advance(1)
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "expired_token")


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_device_auth_decided_user_code_is_gone(lambda_context: Any, alice: Principal, decision: str) -> None:
    code = _started(lambda_context)["user_code"]
    if decision == "approve":
        assert _approve(lambda_context, alice, code, ["assets.read"])["statusCode"] == 200
    else:
        assert _deny(lambda_context, alice, code)["statusCode"] == 200

    assert response_json(_pending(lambda_context, alice, code)) == UNKNOWN
    assert _detail(_approve(lambda_context, alice, code, ["assets.read"])) == (404, UNKNOWN["detail"])
    assert _detail(_deny(lambda_context, alice, code)) == (404, UNKNOWN["detail"])


def test_device_auth_codes_expire_exactly_after_600_seconds(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    started = _started(lambda_context)
    clock.advance(599.999)
    assert _pending(lambda_context, alice, started["user_code"])["statusCode"] == 200

    clock.advance(0.001)  # DynamoDB's TTL has not removed anything yet: the stored expiry decides

    assert _detail(_pending(lambda_context, alice, started["user_code"])) == (404, UNKNOWN["detail"])
    assert _detail(_approve(lambda_context, alice, started["user_code"], ["assets.read"]))[0] == 404
    assert _detail(_deny(lambda_context, alice, started["user_code"]))[0] == 404
    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "expired_token")


def test_device_auth_approved_token_expires_with_the_flow_when_never_polled(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    started = _started(lambda_context)
    _approve(lambda_context, alice, started["user_code"], ["assets.read"])

    clock.advance(600)

    assert _detail(_poll(lambda_context, started["device_code"])) == (400, "expired_token")


def test_device_auth_flow_items_carry_the_ttl_attribute(lambda_context: Any, clock: Clock) -> None:
    from cloudsaves.aws import table

    clock.now = clock.now.replace(microsecond=500_000)
    _started(lambda_context)

    items = table().scan()["Items"]  # a test may look at everything
    pairing = [item for item in items if str(item["pk"]).startswith("DEVICEAUTH")]
    assert len(pairing) == 2  # the flow and its user code
    assert {int(item["expires_at_epoch"]) for item in pairing} == {int(clock.now.timestamp()) + 600 + 1}


@pytest.mark.parametrize("code", ["NOPECODE", "x" * 40, "ABC", "ÄÖÜÄÖÜÄÖ"])
def test_device_auth_unknown_user_codes_are_404(lambda_context: Any, alice: Principal, code: str) -> None:
    assert _detail(_pending(lambda_context, alice, code)) == (404, UNKNOWN["detail"])


def test_device_auth_unknown_device_code_is_expired_token(lambda_context: Any) -> None:
    assert _detail(_poll(lambda_context, "a" * 64)) == (400, "expired_token")


# --- polling -------------------------------------------------------------------------------------


def test_device_auth_polling_faster_than_interval_is_slow_down_and_every_poll_restarts_the_clock(
    lambda_context: Any, clock: Clock
) -> None:
    code = _started(lambda_context)["device_code"]

    answers = []
    for wait in (0, 1, 4, 5, 4.999, 5):
        clock.advance(wait)
        answers.append(_detail(_poll(lambda_context, code))[1])

    assert answers == [
        "authorization_pending",
        "slow_down",
        "slow_down",  # 4 s after the previous (too fast) poll
        "authorization_pending",
        "slow_down",
        "authorization_pending",
    ]


def test_device_auth_racing_polls_get_the_token_once(
    lambda_context: Any, clock: Clock, alice: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two polls that both read the flow as approved before either takes the token
    started = _started(lambda_context)
    _approve(lambda_context, alice, started["user_code"], ["assets.read"])
    real_take = device_auth.DeviceAuthRepository.take_approved
    racing: list[dict[str, Any]] = []
    raced = False

    def take_after_the_other_poll(self: Any, device_code_hash: str, now: datetime) -> Any:
        nonlocal raced
        if not raced:
            raced = True
            racing.append(_poll(lambda_context, started["device_code"]))  # the other poll, start to end
        return real_take(self, device_code_hash, now)

    monkeypatch.setattr(device_auth.DeviceAuthRepository, "take_approved", take_after_the_other_poll)

    # When the first one then takes it
    first = _poll(lambda_context, started["device_code"])

    # Then exactly one of them has the token
    statuses = sorted([first["statusCode"], racing[0]["statusCode"]])
    assert statuses == [200, 400]
    loser = first if first["statusCode"] == 400 else racing[0]
    assert response_json(loser)["detail"] == "expired_token"


# --- devices -------------------------------------------------------------------------------------


def test_device_auth_re_pairing_reuses_the_device_and_keeps_earlier_tokens(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    first = _paired(lambda_context, alice, ["assets.read"])
    clock.advance(60)

    second = _paired(
        lambda_context, alice, ["assets.read", "assets.write"], name="Renamed", client_version="2.0"
    )

    assert second["device_id"] == first["device_id"]
    assert second["access_token"] != first["access_token"]
    assert _bearer(lambda_context, first["access_token"]).device_id == first["device_id"]
    assert _bearer(lambda_context, second["access_token"]).scopes == {"assets.read", "assets.write"}
    devices = response_json(
        _call("list_devices", api_event("GET", "/api/devices", principal=alice), lambda_context)
    )
    assert len(devices) == 1
    device = devices[0]
    assert (device["name"], device["client_version"]) == ("Renamed", "2.0")
    assert device["last_seen"] == device["updated_at"] > device["created_at"]


def test_device_auth_racing_approvals_of_one_identifier_pair_one_device(
    lambda_context: Any, alice: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two flows of one install, the second approved while the first is between read and commit
    first, second = _started(lambda_context), _started(lambda_context)
    real_approve = device_auth.DeviceAuthRepository.approve
    raced: list[dict[str, Any]] = []

    def approve_after_the_other(self: Any, *args: Any) -> None:
        if not raced:
            raced.append({})
            raced[0] = _approve(lambda_context, alice, second["user_code"], ["assets.read"])
        real_approve(self, *args)

    monkeypatch.setattr(device_auth.DeviceAuthRepository, "approve", approve_after_the_other)

    # When the first commits (its new device loses to the other's: it reads again and reuses it)
    approved = _approve(lambda_context, alice, first["user_code"], ["assets.read"])

    # Then both are paired with one device
    assert approved["statusCode"] == raced[0]["statusCode"] == 200
    assert response_json(approved)["device_id"] == response_json(raced[0])["device_id"]
    devices = response_json(
        _call("list_devices", api_event("GET", "/api/devices", principal=alice), lambda_context)
    )
    assert [d["id"] for d in devices] == [response_json(approved)["device_id"]]


def test_device_auth_same_identifier_of_another_user_is_another_device(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    bob = _user("bob", "viewer")

    mine = _paired(lambda_context, alice, ["assets.read"])
    clock.advance(60)
    theirs = _paired(lambda_context, bob, ["assets.read"])

    assert mine["device_id"] != theirs["device_id"]
    assert _bearer(lambda_context, theirs["access_token"]).user_id == bob.user_id


def test_device_auth_re_pairing_after_the_device_was_deleted_makes_a_new_one(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    first = _paired(lambda_context, alice, ["assets.read"])
    event = api_event(
        "DELETE",
        f"/api/devices/{first['device_id']}",
        route="/api/devices/{device_id}",
        principal=alice,
        path_params={"device_id": first["device_id"]},
    )
    assert _call("delete_device", event, lambda_context)["statusCode"] == 204
    clock.advance(60)

    second = _paired(lambda_context, alice, ["assets.read"])

    assert second["device_id"] != first["device_id"]
    third = _paired(lambda_context, alice, ["assets.read"])
    assert third["device_id"] == second["device_id"]


def test_device_auth_approve_at_the_token_limit_is_400_and_writes_nothing(
    lambda_context: Any, clock: Clock, alice: Principal
) -> None:
    from cloudsaves.repositories.users import MAX_CLIENT_TOKENS

    for index in range(MAX_CLIENT_TOKENS):
        body = {"name": f"t{index}", "scopes": ["assets.read"]}
        created = _call(
            "create_client_token",
            api_event("POST", "/api/client-tokens", principal=alice, body=body),
            lambda_context,
        )
        assert created["statusCode"] == 201
    started = _started(lambda_context)

    refused = _approve(lambda_context, alice, started["user_code"], ["assets.read"])

    assert _detail(refused) == (400, "Maximum of 25 tokens per user reached")  # the create route's text
    devices = response_json(
        _call("list_devices", api_event("GET", "/api/devices", principal=alice), lambda_context)
    )
    assert devices == []
    assert _pending(lambda_context, alice, started["user_code"])["statusCode"] == 200


# --- access and input ----------------------------------------------------------------------------


def test_device_auth_user_routes_need_a_signed_in_user_with_me_scopes(
    lambda_context: Any, alice: Principal
) -> None:
    code = _started(lambda_context)["user_code"]
    no_me = make_principal(
        "viewer", user_id=alice.user_id, username=alice.username, scopes=frozenset({"assets.read"})
    )

    assert _pending(lambda_context, None, code)["statusCode"] == 401
    assert _approve(lambda_context, None, code, ["assets.read"])["statusCode"] == 401
    assert _deny(lambda_context, None, code)["statusCode"] == 401
    assert _pending(lambda_context, no_me, code)["statusCode"] == 403
    assert _approve(lambda_context, no_me, code, ["assets.read"])["statusCode"] == 403
    assert _deny(lambda_context, no_me, code)["statusCode"] == 403
    assert _pending(lambda_context, alice, code)["statusCode"] == 200  # untouched by all that


@pytest.mark.parametrize(
    "body",
    [
        {**INIT, "requested_scopes": []},
        {**INIT, "requested_scopes": ["roms.read", "not.a.real.scope"]},
        {**INIT, "requested_scopes": ["roms.read"] * (len(Scope) + 1)},
        {**INIT, "requested_scopes": "roms.read"},
        {**INIT, "name": ""},
        {**INIT, "client": "x" * 51},
        {"client_device_identifier": "x"},
        [],
        "not json{",
    ],
)
def test_device_auth_init_rejects_bad_bodies_with_422(lambda_context: Any, body: Any) -> None:
    response = _init(lambda_context, body)

    assert response["statusCode"] == 422
    assert response_json(response)["detail"]


def test_device_auth_init_names_unknown_scopes(lambda_context: Any) -> None:
    response = _init(lambda_context, {**INIT, "requested_scopes": ["roms.read", "b.x", "a.x"]})

    assert "Unknown scopes: a.x, b.x" in json.dumps(response_json(response))


def test_device_auth_init_takes_every_scope_and_duplicates(lambda_context: Any, alice: Principal) -> None:
    every = sorted(str(scope) for scope in Scope)
    started = _started(lambda_context, requested_scopes=[*every[:-1], every[0]])

    shown = response_json(_pending(lambda_context, alice, started["user_code"]))
    assert shown["requested_scopes"] == sorted([*every[:-1], every[0]])


@pytest.mark.parametrize(
    ("function_dir", "body"),
    [
        ("approve_device_auth", {"user_code": "ABCDEFGH"}),
        ("approve_device_auth", {"user_code": "", "approved_scopes": ["a"]}),
        ("approve_device_auth", "{"),
        ("deny_device_auth", {}),
        ("deny_device_auth", {"user_code": "x" * 33}),
        ("poll_device_auth_token", {}),
        ("poll_device_auth_token", {"device_code": "x" * 129}),
        ("poll_device_auth_token", "null"),
    ],
)
def test_device_auth_malformed_bodies_are_422_not_500(
    lambda_context: Any, alice: Principal, function_dir: str, body: Any
) -> None:
    path = {"approve_device_auth": "approve", "deny_device_auth": "deny", "poll_device_auth_token": "token"}
    event = api_event("POST", f"/api/auth/device/{path[function_dir]}", principal=alice, body=body)

    assert _call(function_dir, event, lambda_context)["statusCode"] == 422


# --- rate limits ---------------------------------------------------------------------------------


def test_device_auth_init_over_10_a_minute_from_one_address_is_429(lambda_context: Any, clock: Clock) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)  # the start of a window
    for _ in range(10):
        assert _init(lambda_context)["statusCode"] == 201

    refused = _init(lambda_context)

    assert _detail(refused) == (429, "Too many authorize attempts. Try again later.")
    assert refused["headers"]["Retry-After"] == "60"
    assert _init(lambda_context, ip="203.0.113.99")["statusCode"] == 201  # another address
    clock.advance(60)  # the next window
    assert _init(lambda_context)["statusCode"] == 201


def test_device_auth_polls_over_60_a_minute_from_one_address_are_429(
    lambda_context: Any, clock: Clock
) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)
    code = _started(lambda_context)["device_code"]
    for _ in range(60):
        clock.advance(0.5)
        assert _poll(lambda_context, code)["statusCode"] == 400

    refused = _poll(lambda_context, code)

    assert _detail(refused) == (429, "Too many polling attempts. Try again later.")
    assert _poll(lambda_context, code, ip="2001:db8::1")["statusCode"] == 400
    clock.advance(30)
    assert _detail(_poll(lambda_context, code)) == (400, "authorization_pending")


# --- sample events -------------------------------------------------------------------------------


def test_device_auth_sample_events(lambda_context: Any) -> None:
    started = _call("init_device_auth", load_event("init_device_auth/handheld.json"), lambda_context)
    assert started["statusCode"] == 201
    for function_dir, case, status in [
        ("get_device_auth_pending", "unknown_code.json", 404),
        ("approve_device_auth", "unknown_code.json", 404),
        ("deny_device_auth", "unknown_code.json", 404),
        ("poll_device_auth_token", "unknown_device_code.json", 400),
    ]:
        response = _call(function_dir, load_event(f"{function_dir}/{case}"), lambda_context)
        assert response["statusCode"] == status, (function_dir, response)
