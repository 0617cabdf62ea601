"""What every handler shares: the resolver, error mapping, the caller's identity and scope checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from cloudsaves.errors import AppError, BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from cloudsaves.observability import logger

NEXT_CURSOR_HEADER = "X-Next-Cursor"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the authorizer established it."""

    user_id: int
    username: str
    role: str
    scopes: frozenset[str]
    device_id: str | None = None  # set when a device-bound client token authenticated the request

    def require(self, *scopes: str) -> None:
        if not set(scopes) <= self.scopes:
            raise Forbidden("Forbidden")


def make_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.exception_handler(AppError)(_app_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(NotFoundError)(lambda _exc: detail_response(404, "Not Found"))
    app.exception_handler(Exception)(_unexpected_error)
    return app


def authorize(app: APIGatewayHttpResolver, *scopes: str) -> Principal:
    """The caller, once the route's scopes are checked: 401 unauthenticated, 403 missing scope."""
    principal = principal_from_event(app.current_event.raw_event)
    principal.require(*scopes)
    return principal


def principal_context(principal: Principal) -> dict[str, Any]:
    """The authorizer's context for a caller; `principal_from_event` reads it back."""
    return {
        "authenticated": True,
        "user_id": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "scopes": " ".join(sorted(principal.scopes)),
        "device_id": principal.device_id or "",
    }


def principal_from_event(event: dict[str, Any]) -> Principal:
    context = (event.get("requestContext") or {}).get("authorizer", {}).get("lambda") or {}
    if str(context.get("authenticated")).lower() != "true":
        raise Unauthorized(context.get("reason") or "Not authenticated")
    return Principal(
        user_id=int(context["user_id"]),
        username=str(context["username"]),
        role=str(context["role"]),
        scopes=frozenset(str(context.get("scopes", "")).split()),
        device_id=context.get("device_id") or None,
    )


def source_ip(app: APIGatewayHttpResolver) -> str:
    """The caller's address as API Gateway saw it (the TCP peer: clients cannot forge it with headers)."""
    return str(app.current_event.request_context.http.source_ip or "unknown")


def form_body(app: APIGatewayHttpResolver) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (OAuth2's token request); the last value of a key wins."""
    from urllib.parse import parse_qsl

    event = app.current_event
    raw = event.decoded_body or ""
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", ""):
        raise BadRequest("Expected an application/x-www-form-urlencoded body")
    try:
        return dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw)))
    except ValueError as exc:
        raise BadRequest("Malformed form body") from exc


def detail_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"detail": detail}),
        headers=headers,
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with a status other than 200; the resolver validates and serializes `body`."""
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


def _app_error(exc: AppError) -> Response:
    return detail_response(exc.status_code, exc.detail, exc.headers)


def _validation_error(exc: RequestValidationError) -> Response:
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", "Invalid value"), "type": err.get("type")}
        for err in exc.errors()
    ]
    return detail_response(422, errors)


def _unexpected_error(exc: Exception) -> Response:
    logger.exception("Unhandled error")
    return detail_response(500, "Internal Server Error")


# Lambda caps a response payload at 6 MB; keep room for the envelope and headers.
MAX_RESPONSE_BODY_BYTES = 5_500_000


def payload_size(body: str) -> int:
    """The body's size inside Lambda's JSON response payload, where each `"` and `\\` is escaped."""
    return len(body.encode()) + body.count('"') + body.count("\\")


def list_response(
    app: APIGatewayHttpResolver, items: list[Any], headers: dict[str, str] | None = None
) -> Response:
    """A JSON array in compact form, gzipped when the client accepts it: a whole list must fit one Lambda
    response (5,000 saves are about 3.9 MB plain, 156 KB gzipped: bench/full_list.py).

    A list that cannot fit even so is refused with 413 and told how to page: never silently cut short.
    """
    from pydantic_core import to_json

    body = to_json(items).decode()
    if payload_size(body) > MAX_RESPONSE_BODY_BYTES and not _fits_gzipped(app, body):
        raise PayloadTooLarge(
            f"The list of {len(items)} items is too large for one response: send Accept-Encoding: gzip, "
            "or page it with limit and cursor (the next cursor is in X-Next-Cursor)"
        )
    # compress: Powertools gzips the body when the request accepts gzip
    return Response(
        status_code=200, content_type="application/json", body=body, headers=headers, compress=True
    )


def _fits_gzipped(app: APIGatewayHttpResolver, body: str) -> bool:
    import gzip

    if "gzip" not in (app.current_event.headers.get("accept-encoding") or "").lower():
        return False
    compressed = len(gzip.compress(body.encode(), compresslevel=1))
    return (compressed + 2) // 3 * 4 <= MAX_RESPONSE_BODY_BYTES  # API Gateway carries it base64-encoded
