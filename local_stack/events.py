"""API Gateway HTTP API payload format 2.0: the events it sends Lambda and how it reads the replies."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local_stack.routing import RouteMatch

ACCOUNT_ID = "123456789012"
API_ID = "local"
STAGE = "$default"
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous invoke limit, request and response alike

# Bodies handed over as text; everything else arrives base64-encoded (see encode_body).
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")
_TEXT_SUFFIXES = ("+json", "+xml")
# Framing headers describe the connection, not the Lambda's answer; the gateway writes its own.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


class InvalidResponse(ValueError):
    """A Lambda reply API Gateway cannot turn into HTTP (it answers 500)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # the raw request target: "/path?query", still percent-encoded
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    server_port: int = 80
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def raw_query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass(frozen=True)
class RequestMeta:
    """What API Gateway stamps on a request: its id and arrival time."""

    request_id: str
    received: datetime

    @classmethod
    def now(cls, request_id: str) -> RequestMeta:
        return cls(request_id, datetime.now(UTC))


def json_response(status: int, message: str) -> HttpResponse:
    """API Gateway's own error replies: ``{"message": "..."}``."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


def is_text(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith(_TEXT_TYPES) or media_type.endswith(_TEXT_SUFFIXES)


def encode_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """(body, isBase64Encoded). API Gateway base64-encodes bodies it does not consider text. Here text
    is text/*, JSON, form-urlencoded and XML (and +json/+xml), and even those fall back to base64 when
    not valid UTF-8, so no byte is lost. Anything else (multipart, octet-stream...) is base64."""
    if not body:
        return None, False
    if is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def event_headers(request: HttpRequest, domain_name: str) -> dict[str, str]:
    """Lower-cased names, repeated headers joined with commas, cookies moved to ``cookies``."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("host", domain_name)
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", str(request.server_port))
    headers.setdefault("x-amzn-trace-id", _trace_id())
    return headers


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def cookies(request: HttpRequest) -> list[str]:
    return [
        cookie.strip()
        for name, value in request.headers
        if name.lower() == "cookie"
        for cookie in value.split(";")
        if cookie.strip()
    ]


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded values; a repeated key's values joined with commas."""
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def domain_name(request: HttpRequest) -> str:
    return request.header("host") or f"127.0.0.1:{request.server_port}"


def request_context(request: HttpRequest, route_key: str, meta: RequestMeta) -> dict[str, Any]:
    domain = domain_name(request)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": meta.request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": meta.received.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(meta.received.timestamp() * 1000),
    }


def _common(request: HttpRequest, match: RouteMatch, meta: RequestMeta) -> dict[str, Any]:
    """The fields the integration event and the authorizer event share, in AWS's order."""
    route_key = match.route.route_key
    event: dict[str, Any] = {
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    request_cookies = cookies(request)
    if request_cookies:
        event["cookies"] = request_cookies
    event["headers"] = event_headers(request, domain_name(request))
    parameters = query_parameters(request.raw_query)
    if parameters:
        event["queryStringParameters"] = parameters
    event["requestContext"] = request_context(request, route_key, meta)
    return event


def http_event(request: HttpRequest, match: RouteMatch, meta: RequestMeta) -> dict[str, Any]:
    """The Lambda proxy integration event (payload format 2.0)."""
    event = {"version": "2.0", **_common(request, match, meta)}
    body, is_base64 = encode_body(request.body, request.header("content-type"))
    if body is not None:
        event["body"] = body
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    event["isBase64Encoded"] = is_base64
    return event


def function_url_event(request: HttpRequest, meta: RequestMeta) -> dict[str, Any]:
    """A Lambda function URL's event: payload format 2.0 with routeKey ``$default``, no authorizer."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    request_cookies = cookies(request)
    if request_cookies:
        event["cookies"] = request_cookies
    event["headers"] = event_headers(request, domain_name(request))
    parameters = query_parameters(request.raw_query)
    if parameters:
        event["queryStringParameters"] = parameters
    context = request_context(request, "$default", meta)
    context["accountId"] = "anonymous"  # what AuthType NONE reports
    event["requestContext"] = context
    body, is_base64 = encode_body(request.body, request.header("content-type"))
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def route_arn(request: HttpRequest, region: str) -> str:
    return f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{request.method}{request.raw_path}"


def authorizer_event(
    request: HttpRequest, match: RouteMatch, meta: RequestMeta, identity_source: list[str], region: str
) -> dict[str, Any]:
    """The Lambda REQUEST authorizer event (payload format 2.0)."""
    common = _common(request, match, meta)
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn(request, region),
        "identitySource": identity_source,
        **common,
    }
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    return event


def authorization(payload: Any) -> dict[str, Any] | None:
    """A simple authorizer response -> its context when authorized, None when denied."""
    if not isinstance(payload, dict) or not isinstance(payload.get("isAuthorized"), bool):
        raise InvalidResponse(f"authorizer response needs a boolean isAuthorized, got {payload!r:.200}")
    context = payload.get("context")
    context = {} if context is None else context
    if not isinstance(context, dict):
        raise InvalidResponse("authorizer context must be an object")
    return context if payload["isAuthorized"] else None


def http_response(payload: Any) -> HttpResponse:
    """A Lambda result (payload format 2.0) -> the HTTP response API Gateway sends."""
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # Without a statusCode, API Gateway infers 200 and sends the result itself as JSON.
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(payload).encode())
    try:
        status = int(payload["statusCode"])
    except (TypeError, ValueError) as error:
        raise InvalidResponse(f"statusCode {payload['statusCode']!r} is not an integer") from error
    if not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode {status} is out of range")
    return HttpResponse(status, _response_headers(payload), _response_body(payload))


def _response_headers(payload: dict[str, Any]) -> list[tuple[str, str]]:
    headers, multi, response_cookies = (
        payload.get("headers") or {},
        payload.get("multiValueHeaders") or {},
        payload.get("cookies") or [],
    )
    if not isinstance(headers, dict) or not isinstance(multi, dict) or not isinstance(response_cookies, list):
        raise InvalidResponse("headers and multiValueHeaders must be objects, cookies a list")
    pairs = [(str(name), _header_value(value)) for name, value in headers.items()]
    for name, values in multi.items():
        pairs.extend(
            (str(name), _header_value(value)) for value in (values if isinstance(values, list) else [values])
        )
    pairs.extend(("Set-Cookie", str(cookie)) for cookie in response_cookies)
    return [(name, value) for name, value in pairs if name.lower() not in _HOP_BY_HOP]


def _header_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _response_body(payload: dict[str, Any]) -> bytes:
    body = payload.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidResponse(f"body must be a string, got {type(body).__name__}")
    if not payload.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise InvalidResponse("isBase64Encoded is true but the body is not base64") from error
