"""HTTP API route selection: the most specific matching route wins, as API Gateway chooses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from local_stack.template import Route

_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Compiled:
    route: Route
    segments: tuple[str, ...]
    kinds: tuple[int, ...]

    @property
    def specificity(self) -> tuple[tuple[int, ...], bool]:
        # Literal beats {var} beats {proxy+}, segment by segment from the left; a method beats ANY.
        return self.kinds, self.route.method == "ANY"


def _segments(path: str) -> list[str]:
    """Path segments; a trailing slash is ignored (API Gateway routes /a/ like /a)."""
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _VARIABLE
    return _LITERAL


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        routes = list(routes)
        self._default = next((r for r in routes if r.path == "$default"), None)
        compiled = []
        for route in routes:
            if route.path == "$default":
                continue
            segments = tuple(_segments(route.path))
            compiled.append(_Compiled(route, segments, tuple(_kind(s) for s in segments)))
        self._routes = sorted(compiled, key=lambda c: c.specificity)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route for ``method`` and the request's (still percent-encoded) path, or None."""
        requested = _segments(raw_path)
        for candidate in self._routes:
            if candidate.route.method not in (method, "ANY"):
                continue
            parameters = _bind(candidate, requested)
            if parameters is not None:
                return RouteMatch(candidate.route, parameters)
        return RouteMatch(self._default, {}) if self._default else None


def _bind(candidate: _Compiled, requested: list[str]) -> dict[str, str] | None:
    """Path parameters (percent-decoded) if the request path fits the template, else None."""
    parameters: dict[str, str] = {}
    for index, (segment, kind) in enumerate(zip(candidate.segments, candidate.kinds, strict=True)):
        if kind == _GREEDY:
            rest = requested[index:]
            if not rest:
                return None
            parameters[segment[1:-2]] = unquote("/".join(rest))
            return parameters
        if index >= len(requested):
            return None
        value = requested[index]
        if kind == _LITERAL and unquote(value) != segment:
            return None
        if kind == _VARIABLE:
            if not value:
                return None
            parameters[segment[1:-1]] = unquote(value)
    return parameters if len(requested) == len(candidate.segments) else None
