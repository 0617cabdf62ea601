"""What every handler shares: the resolver, error mapping, the caller's identity and scope checks."""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from cloudsaves.errors import (
    AppError,
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from cloudsaves.observability import logger

NEXT_CURSOR_HEADER = "X-Next-Cursor"

# A `\uD800`-`\uDFFF` escape: a pair is an ordinary character (clients' ensure_ascii emoji), a lone one
# is a string that cannot be stored (DynamoDB and S3 take UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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


def make_app(*, public: bool = False) -> APIGatewayHttpResolver:
    """The resolver every function uses: errors mapped to `{"detail": ...}`, hostile bodies answered 4xx.

    Unless `public`, the caller is authenticated before anything of the request is validated or parsed,
    so a request without valid credentials costs no JSON parsing and always answers 401.
    """
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json_body)
    # Powertools runs its request validation (which parses the body) ahead of every other middleware;
    # wrapping it is the one place that runs before it, for every route of the function.
    validation = app._request_validation_middleware
    app._request_validation_middleware = _guard_request(validation, public=public)  # type: ignore[assignment]
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


def parse_json_body(text: str) -> Any:
    """`json.loads` for request bodies: input Python refuses to hold is a 400 rather than a 500.

    Malformed JSON still raises JSONDecodeError, which Powertools answers 422 (`json_invalid`), as FastAPI.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply") from None
    except ValueError:  # an integer literal longer than Python's 4,300-digit limit
        raise BadRequest("The JSON body holds a number too long to read") from None
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(value):
        raise BadRequest("The JSON body holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
    return value


def _holds_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def body_text(event: BaseProxyEvent) -> str:
    """The request body as text (base64 undone); a body that is not UTF-8 text is a 400."""
    try:
        return event.decoded_body or ""
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("The request body is not valid UTF-8 text") from None


def _guard_request(validation: Callable[..., Response], *, public: bool) -> Callable[..., Response]:
    def guard(app: APIGatewayHttpResolver, next_middleware: Callable[..., Response]) -> Response:
        if not public:
            principal_from_event(app.current_event.raw_event)  # 401 before any body is read
        route = app.context.get("_route")  # set by Powertools for its own validation
        if route is not None and route.dependant.body_params:
            _require_json(app.current_event)
        return validation(app, next_middleware)

    return guard


def _require_json(event: BaseProxyEvent) -> None:
    # Exactly what Powertools' validation reads as JSON (it is case-sensitive); none at all is JSON too.
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip()
    if content_type not in ("application/json", ""):
        raise UnsupportedMediaType(
            f"Expected a JSON body (Content-Type: application/json), got {content_type[:80]!r}"
        )
    body_text(event)


def form_body(app: APIGatewayHttpResolver) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (OAuth2's token request); the last value of a key wins."""
    from urllib.parse import parse_qsl

    event = app.current_event
    raw = body_text(event)
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", ""):
        raise BadRequest("Expected an application/x-www-form-urlencoded body")
    try:
        # An OAuth2 token request has a handful of fields: a body of millions is abuse, not a login.
        return dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=64))
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
