"""Hostile requests against the handlers: every one a 4xx with a `detail`, never a 500.

The authorizer never denies (see cloudsaves.http), so the functions see requests without valid
credentials too: they must answer 401 before reading a byte of the body.
"""

from __future__ import annotations

import re
from functools import cache
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, FakeLambdaContext, api_event, load_function, make_principal, response_json

# moto for safety, not reset per test: these requests are refused before any AWS call.
pytestmark = pytest.mark.usefixtures("_moto_session")

ADMIN = make_principal("admin", user_id=1, username="admin")
DEEP_JSON = "[" * 100_000
LONG_INTEGER = '{"name": ' + "9" * 5000 + "}"


def _template_routes() -> tuple[list[tuple[str, str, str]], set[tuple[str, str]]]:
    """(function directory, method, path) of every HttpApi route in template.yaml, and the public ones."""
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)
    resources = yaml.load((ROOT / "template.yaml").read_text(), Loader=loader)["Resources"]
    routes, public = [], set()
    for resource in resources.values():
        props = resource.get("Properties") or {}
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                code = props["CodeUri"].strip("/").split("/")[-1]
                method, path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
                routes.append((code, method, path))
                if (event["Properties"].get("Auth") or {}).get("Authorizer") == "NONE":
                    public.add((method, path))
    return sorted(routes), public


ROUTES, PUBLIC = _template_routes()
PRIVATE_ROUTES = [route for route in ROUTES if route[1:] not in PUBLIC]
# Routes whose body is a JSON model (Powertools parses it before the handler runs).
JSON_ROUTES = [
    ("create_device", "POST", "/api/devices"),
    ("update_device", "PUT", "/api/devices/{device_id}"),
    ("create_user", "POST", "/api/users"),
    ("put_rom", "PUT", "/api/roms/{id}"),
    ("create_client_token", "POST", "/api/client-tokens"),
    ("create_save_upload", "POST", "/api/saves/uploads"),
    ("delete_saves", "POST", "/api/saves/delete"),
    ("set_save_visibility", "PUT", "/api/saves/{id}/visibility"),
]


@cache
def _module(function_dir: str) -> ModuleType:
    return load_function(function_dir)


def _call(route: tuple[str, str, str], principal: Any, **kwargs: Any) -> dict[str, Any]:
    function_dir, method, path = route
    params = {name: "1" for name in re.findall(r"{(\w+)}", path)}
    concrete = re.sub(r"{\w+}", "1", path)
    event = api_event(method, concrete, route=path, principal=principal, path_params=params or None, **kwargs)
    return _module(function_dir).lambda_handler(event, FakeLambdaContext())


def _detail(response: dict[str, Any]) -> Any:
    return response_json(response)["detail"]


def test_hostile_routes_cover_the_template():
    assert len(ROUTES) >= 40
    assert set(JSON_ROUTES) <= set(ROUTES)


@pytest.mark.parametrize("route", PRIVATE_ROUTES, ids=lambda r: f"{r[1]} {r[2]}")
def test_hostile_unauthenticated_deep_json_is_401_before_parsing(route):
    # Given no valid credentials and a body Python cannot even parse
    response = _call(route, None, body=DEEP_JSON, headers={"content-type": "application/json"})

    # Then the answer is the 401 RomM clients expect, whatever the body
    assert response["statusCode"] == 401, response.get("body")
    assert response["headers"]["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("route", PRIVATE_ROUTES[::3], ids=lambda r: f"{r[1]} {r[2]}")
def test_hostile_unauthenticated_garbage_query_and_content_type_is_401(route):
    response = _call(
        route,
        None,
        query={"limit": "x" * 5000, "rom_id": "-1e999"},
        body=b"\xff",
        headers={"content-type": "x/y"},
    )

    assert response["statusCode"] == 401, response.get("body")


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: f"{r[1]} {r[2]}")
@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (DEEP_JSON, "application/json", 400, "The JSON body is nested too deeply"),
        (LONG_INTEGER, "application/json", 400, "The JSON body holds a number too long to read"),
        (b"\xff\xfe{}", "application/json", 400, "The request body is not valid UTF-8 text"),
        ('{"name": "\\ud800"}', "application/json", 400, "The JSON body holds a lone UTF-16 surrogate"),
        (
            '{"name": "x"}',
            "text/plain",
            415,
            "Expected a JSON body (Content-Type: application/json), got 'text/plain'",
        ),
        ("name=x", "application/x-www-form-urlencoded", 415, "Expected a JSON body"),
        ("--x--", "multipart/form-data", 415, "Expected a JSON body"),
    ],
    ids=[
        "deep",
        "long-integer",
        "not-utf8",
        "lone-surrogate",
        "text-plain",
        "form",
        "multipart-without-boundary",
    ],
)
def test_hostile_json_bodies_are_4xx_with_a_detail(route, body, content_type, status, detail):
    response = _call(route, ADMIN, body=body, headers={"content-type": content_type})

    assert response["statusCode"] == status, response.get("body")
    assert _detail(response).startswith(detail)


@pytest.mark.parametrize("route", JSON_ROUTES[:2], ids=lambda r: f"{r[1]} {r[2]}")
def test_hostile_body_that_is_not_base64_is_400(route):
    event_body = "!!! not base64 !!!"
    function_dir, method, path = route
    concrete = re.sub(r"{\w+}", "1", path)
    params = {name: "1" for name in re.findall(r"{(\w+)}", path)} or None
    event = api_event(method, concrete, route=path, principal=ADMIN, path_params=params, body="{}")
    event.update(body=event_body, isBase64Encoded=True)

    response = _module(function_dir).lambda_handler(event, FakeLambdaContext())

    assert response["statusCode"] == 400
    assert _detail(response) == "The request body is not valid UTF-8 text"


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", None])
def test_hostile_json_with_parameters_or_no_content_type_is_still_json(content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = _call(JSON_ROUTES[0], ADMIN, body='{"name": "Deck"}', headers=headers)

    assert response["statusCode"] == 201, response.get("body")


@pytest.mark.usefixtures("aws")
def test_hostile_surrogate_pairs_are_ordinary_characters():
    # Given an emoji as a client with ensure_ascii sends it
    response = _call(JSON_ROUTES[0], ADMIN, body='{"name": "Deck \\ud83c\\udfae"}')

    assert response["statusCode"] == 201, response.get("body")
    assert response_json(response)["name"] == "Deck 🎮"


def test_hostile_malformed_json_stays_a_422_json_invalid_as_fastapi():
    response = _call(JSON_ROUTES[0], ADMIN, body="{not json", headers={"content-type": "application/json"})

    assert response["statusCode"] == 422
    assert _detail(response)[0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"username=admin&password=\xff\xfe", "The request body is not valid UTF-8 text"),
        (DEEP_JSON, "Malformed form body"),
        ("&".join(f"f{i}=x" for i in range(100_000)), "Malformed form body"),
    ],
    ids=["not-utf8", "deep-json", "100k-fields"],
)
def test_hostile_token_bodies_are_400(body, detail):
    route = ("token", "POST", "/api/token")

    response = _call(route, None, body=body, headers={"content-type": "application/x-www-form-urlencoded"})

    assert response["statusCode"] == 400
    assert _detail(response) == detail
