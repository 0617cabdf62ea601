"""Shared fixtures: a clean environment per test, moto resources built from template.yaml, API events."""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

# Powertools reads these when cloudsaves.observability is first imported, which may be at collection.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cloud-saves")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CloudSaves")

from cloudsaves.http import Principal, principal_context

ROOT = Path(__file__).resolve().parent.parent
TEST_TABLE = "cloudsaves-test"
TEST_BUCKET = "cloudsaves-test-bucket"
TEST_JWT_SECRET = "test-secret-for-hs256-signing-0123456789"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": TEST_TABLE,
        "BUCKET_NAME": TEST_BUCKET,
        "JWT_SECRET": TEST_JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
        "POWERTOOLS_SERVICE_NAME": "cloud-saves",
        "POWERTOOLS_METRICS_NAMESPACE": "CloudSaves",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "JWT_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    _reset_caches()
    yield
    _reset_caches()


def _reset_caches() -> None:
    from cloudsaves.auth.tokens import signing_secret
    from cloudsaves.aws import reset_clients
    from cloudsaves.settings import get_settings

    get_settings.cache_clear()
    signing_secret.cache_clear()
    reset_clients()


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def aws(_moto_session: None) -> Iterator[None]:
    """moto in-process, with the table and bucket exactly as template.yaml declares them.

    One mock per test process, and only DynamoDB and S3 reset per test: restarting moto costs more.
    """
    import boto3
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    from local_stack.resources import create_all

    dynamodb_backends.reset()
    s3_backends.reset()
    create_all(_template_resolver(), boto3.client("dynamodb"), boto3.client("s3"))
    yield


@functools.cache
def _template_resolver() -> Any:
    """Parsed once per test process: reading the template costs more than creating the resources."""
    from local_stack.resolver import Resolver
    from local_stack.template import load_template

    names = {"Table": TEST_TABLE, "Bucket": TEST_BUCKET}
    return Resolver(load_template(ROOT / "template.yaml"), "us-east-1", names=names)


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(aws_request_id=str(uuid.uuid4()))


def load_function(name: str) -> ModuleType:
    """A function's app.py under its own module name, as the Lambda runtime would load it."""
    spec = importlib.util.spec_from_file_location(f"fn_{name}", Path(ROOT, "functions", name, "app.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(path: str) -> dict[str, Any]:
    """An event from events/ (relative to it), as `sam local invoke -e` would send it."""
    return json.loads((ROOT / "events" / path).read_text())


def authorizer_context(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"authenticated": False, "reason": "Not authenticated"}
    return principal_context(principal)


def api_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    principal: Principal | None = None,
    query: dict[str, str | list[str]] | None = None,
    body: bytes | str | dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, with the authorizer's context for `principal`."""
    all_headers = {"host": "localhost", "user-agent": "pytest"}
    if isinstance(body, dict | list):
        body = json.dumps(body)
        all_headers["content-type"] = "application/json"
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    raw_query = urlencode(query or {}, doseq=True)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route or path}",
            "stage": "$default",
            "authorizer": {"lambda": authorizer_context(principal)},
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = {
            k: ",".join(v) if isinstance(v, list) else v for k, v in query.items()
        }
    if path_params:
        event["pathParameters"] = path_params
    if isinstance(body, bytes):
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    elif body is not None:
        event["body"] = body
    return event


def make_principal(
    role: str = "viewer",
    *,
    user_id: int = 1001,
    username: str | None = None,
    device_id: str | None = None,
    scopes: frozenset[str] | None = None,
) -> Principal:
    from cloudsaves.auth.scopes import ROLE_SCOPES, Role

    return Principal(
        user_id=user_id,
        username=username or f"user{user_id}",
        role=role,
        scopes=scopes if scopes is not None else ROLE_SCOPES[Role(role)],
        device_id=device_id,
    )


def response_json(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None
