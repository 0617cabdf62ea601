"""Route selection as API Gateway HTTP APIs do it: most specific first, {param} and {proxy+}, ANY."""

from __future__ import annotations

import pytest

from local_stack.routing import Router
from local_stack.template import Route


def _route(method: str, path: str) -> Route:
    return Route(method=method, path=path, function=f"{method} {path}", authorizer=None)


ROUTER = Router(
    [
        _route("GET", "/api/saves/{id}"),
        _route("GET", "/api/saves/summary"),
        _route("GET", "/api/saves/{id}/content"),
        _route("ANY", "/api/saves/{id}/content"),
        _route("POST", "/api/saves"),
        _route("GET", "/files/{proxy+}"),
        _route("GET", "/files/readme"),
        _route("GET", "/"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/api/saves/summary", "GET /api/saves/summary", {}),
        ("GET", "/api/saves/42", "GET /api/saves/{id}", {"id": "42"}),
        ("GET", "/api/saves/a%2Fb%20c", "GET /api/saves/{id}", {"id": "a/b c"}),
        ("GET", "/api/saves/42/", "GET /api/saves/{id}", {"id": "42"}),
        ("GET", "/api/saves/42/content", "GET /api/saves/{id}/content", {"id": "42"}),
        ("PUT", "/api/saves/42/content", "ANY /api/saves/{id}/content", {"id": "42"}),
        ("POST", "/api/saves", "POST /api/saves", {}),
        ("GET", "/files/a/b/c.txt", "GET /files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("GET", "/files/readme", "GET /files/readme", {}),
        ("GET", "/", "GET /", {}),
    ],
)
def test_local_stack_routing_picks_the_most_specific_route(
    method: str, path: str, route_key: str, parameters: dict[str, str]
) -> None:
    match = ROUTER.match(method, path)

    assert match is not None
    assert match.route.route_key == route_key
    assert match.path_parameters == parameters


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/saves/42"),
        ("GET", "/api/saves"),
        ("GET", "/api/saves/42/content/extra"),
        ("GET", "/files"),
        ("GET", "/api//content"),
        ("GET", "/nowhere"),
    ],
)
def test_local_stack_routing_no_match(method: str, path: str) -> None:
    assert ROUTER.match(method, path) is None


def test_local_stack_routing_default_route_catches_the_rest() -> None:
    router = Router(
        [_route("GET", "/a"), Route(method="ANY", path="$default", function="fallback", authorizer=None)]
    )

    match = router.match("POST", "/anything/else")

    assert match is not None
    assert match.route.function == "fallback"
    assert match.route.route_key == "$default"
