"""API Gateway payload format 2.0 events and Lambda reply translation, built without any network."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from local_stack.events import (
    HttpRequest,
    InvalidResponse,
    RequestMeta,
    authorization,
    authorizer_event,
    encode_body,
    http_event,
    http_response,
)
from local_stack.routing import RouteMatch
from local_stack.template import Route

META = RequestMeta(str(uuid.UUID(int=1)), datetime(2026, 3, 12, 19, 3, 58, 390000, tzinfo=UTC))
MATCH = RouteMatch(Route("PUT", "/api/saves/{id}", "UpdateSaveFunction", "HttpApi/Auth"), {"id": "7"})


def _request(**overrides: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "PUT",
        "target": "/api/saves/7?tag=a&tag=b&empty=&q=x%20y",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "argosy/1.0"),
            ("X-Dup", "one"),
            ("x-dup", "two"),
            ("Cookie", "a=1; b=2"),
            ("Cookie", "c=3"),
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer t"),
        ],
        "body": b'{"x": 1}',
        "source_ip": "10.0.0.5",
        "server_port": 3000,
    }
    fields.update(overrides)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_local_stack_events_http_event_payload_2() -> None:
    event = http_event(_request(), MATCH, META)

    assert event["version"] == "2.0"
    assert event["routeKey"] == "PUT /api/saves/{id}"
    assert event["rawPath"] == "/api/saves/7"
    assert event["rawQueryString"] == "tag=a&tag=b&empty=&q=x%20y"
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": "", "q": "x y"}
    assert event["pathParameters"] == {"id": "7"}
    assert event["body"] == '{"x": 1}'
    assert event["isBase64Encoded"] is False
    headers = event["headers"]
    assert headers["x-dup"] == "one,two"
    assert headers["user-agent"] == "argosy/1.0"
    assert headers["x-forwarded-for"] == "10.0.0.5"
    assert "cookie" not in headers
    assert all(name == name.lower() for name in headers)


def test_local_stack_events_request_context() -> None:
    context = http_event(_request(), MATCH, META)["requestContext"]

    assert context == {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "127.0.0.1:3000",
        "domainPrefix": "127",
        "http": {
            "method": "PUT",
            "path": "/api/saves/7",
            "protocol": "HTTP/1.1",
            "sourceIp": "10.0.0.5",
            "userAgent": "argosy/1.0",
        },
        "requestId": META.request_id,
        "routeKey": "PUT /api/saves/{id}",
        "stage": "$default",
        "time": "12/Mar/2026:19:03:58 +0000",
        "timeEpoch": 1773342238390,
    }


def test_local_stack_events_optional_fields_are_omitted() -> None:
    request = _request(target="/api/saves/7", headers=[("Host", "h")], body=b"")

    event = http_event(request, RouteMatch(MATCH.route, {}), META)

    assert "cookies" not in event
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event
    assert "body" not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body", "expected_text"),
    [
        ("application/json; charset=utf-8", "é".encode(), True),
        ("text/plain", b"hello", True),
        ("application/x-www-form-urlencoded", b"a=1", True),
        ("application/problem+json", b"{}", True),
        ("text/plain", b"\xff\xfe", False),  # not UTF-8: base64 keeps the bytes intact
        ("application/octet-stream", b"abc", False),
        ("multipart/form-data; boundary=x", b"--x\r\n", False),
        (None, b"abc", False),
    ],
)
def test_local_stack_events_body_encoding(content_type: str | None, body: bytes, expected_text: bool) -> None:
    encoded, is_base64 = encode_body(body, content_type)

    assert is_base64 is not expected_text
    assert (base64.b64decode(encoded) if is_base64 else encoded.encode()) == body  # type: ignore[union-attr]


def test_local_stack_events_authorizer_event() -> None:
    event = authorizer_event(_request(), MATCH, META, ["Bearer t"], "us-east-1")

    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/$default/PUT/api/saves/7"
    assert event["identitySource"] == ["Bearer t"]
    assert event["routeKey"] == "PUT /api/saves/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["headers"]["authorization"] == "Bearer t"
    assert event["requestContext"]["requestId"] == META.request_id
    assert "body" not in event


def test_local_stack_events_authorization_verdicts() -> None:
    assert authorization({"isAuthorized": True, "context": {"user": "a"}}) == {"user": "a"}
    assert authorization({"isAuthorized": True}) == {}
    assert authorization({"isAuthorized": False, "context": {"user": "a"}}) is None
    for malformed in ({"isAuthorized": "true"}, {}, "yes", None, {"isAuthorized": True, "context": []}):
        with pytest.raises(InvalidResponse):
            authorization(malformed)


def test_local_stack_events_http_response_full() -> None:
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/octet-stream", "X-Count": 3, "Content-Length": "999"},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": base64.b64encode(b"\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    )

    assert response.status == 201
    assert response.body == b"\x00\xff"
    assert response.headers == [
        ("Content-Type", "application/octet-stream"),
        ("X-Count", "3"),
        ("X-Multi", "a"),
        ("X-Multi", "b"),
        ("Set-Cookie", "s=1; HttpOnly"),
        ("Set-Cookie", "t=2"),
    ]


@pytest.mark.parametrize("payload", [{"message": "hi"}, ["a"], "text", 3, None])
def test_local_stack_events_http_response_inferred(payload: object) -> None:
    response = http_response(payload)

    assert response.status == 200
    assert ("Content-Type", "application/json") in response.headers
    assert json.loads(response.body) == payload


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "abc"},
        {"statusCode": 99},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["x"]},
    ],
)
def test_local_stack_events_http_response_malformed(payload: object) -> None:
    with pytest.raises(InvalidResponse):
        http_response(payload)
