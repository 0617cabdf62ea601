"""The local API gateway over real HTTP, in-process, against a tiny synthetic template and echo handlers."""

from __future__ import annotations

import base64
import json
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack import LocalStack

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
Conditions:
  IsProd: !Equals [!Ref Greeting, prod]
Globals:
  Function:
    Handler: app.lambda_handler
    Timeout: 5
    MemorySize: 256
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        BUCKET_NAME: !Ref Bucket
        GREETING: !Sub "${Greeting}-${AWS::Region}"
        SECRET_ARN: !If [IsProd, !ImportValue ProdSecret, !Ref AWS::NoValue]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Lambda
        Authorizers:
          Lambda:
            FunctionArn: !GetAtt AuthFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 0
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: auth/
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Events:
        Item:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: "/items/{id}"}
        ItemFiles:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: "/items/{id}/files/{proxy+}"}
        Public:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: ANY, Path: /public/echo, Auth: {Authorizer: NONE}}
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
  SummaryFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: summary/
      Events:
        Summary:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /items/summary}
  PublicFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: public/
      Handler: handlers.dispatch
      Events:
        Raw:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: /raw, Auth: {Authorizer: NONE}}
        Cookies:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /cookies, Auth: {Authorizer: NONE}}
        Bare:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /bare, Auth: {Authorizer: NONE}}
        Sleep:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /sleep, Auth: {Authorizer: NONE}}
        Boom:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /boom, Auth: {Authorizer: NONE}}
  DoorFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      FunctionUrlConfig: {AuthType: NONE, InvokeMode: BUFFERED}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: slow/
      Events:
        Slow:
          Type: HttpApi
          Properties:
            {ApiId: !Ref Api, Method: GET, Path: /slow, TimeoutInMillis: 300, Auth: {Authorizer: NONE}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Bucket:
    Type: AWS::S3::Bucket
"""

AUTH = """
def lambda_handler(event, context):
    token = event["headers"].get("authorization", "")
    if token == "crash":
        raise RuntimeError("authorizer bug")
    if token == "malformed":
        return {"allowed": True}
    context = {"user": token[6:], "source": event["identitySource"]}
    return {"isAuthorized": token.startswith("allow "), "context": context}
"""

ECHO = """
import json, os

NAMES = ("TABLE_NAME", "BUCKET_NAME", "GREETING", "SECRET_ARN", "JWT_SECRET")

def lambda_handler(event, context):
    seen = {
        "event": event,
        "env": {name: os.environ.get(name) for name in NAMES},
        "context": {
            "name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(seen)}
"""

SUMMARY = """
def lambda_handler(event, context):
    return {"route": event["routeKey"]}
"""

PUBLIC = """
import base64, time

def dispatch(event, context):
    path = event["rawPath"]
    if path == "/raw":
        return {"statusCode": 201, "headers": {"content-type": event["headers"].get("content-type", "")},
                "body": event.get("body", ""), "isBase64Encoded": event["isBase64Encoded"]}
    if path == "/cookies":
        return {"statusCode": 200, "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
                "headers": {"content-type": "application/octet-stream"},
                "body": base64.b64encode(b"\\x00\\xffbinary").decode(), "isBase64Encoded": True}
    if path == "/bare":
        return ["no", "statusCode"]
    if path == "/sleep":
        time.sleep(0.2)
        return {"statusCode": 204}
    raise ValueError("secret internals")
"""


SLOW = """
import time

def lambda_handler(event, context):
    time.sleep(30)
"""


def _write_project(root: Path) -> Path:
    for folder, file, code in (
        ("auth", "app.py", AUTH),
        ("echo", "app.py", ECHO),
        ("summary", "app.py", SUMMARY),
        ("public", "handlers.py", PUBLIC),
        ("slow", "app.py", SLOW),
    ):
        (root / folder).mkdir()
        (root / folder / file).write_text(textwrap.dedent(code))
    template = root / "template.yaml"
    template.write_text(TEMPLATE)
    return template


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    template = _write_project(tmp_path_factory.mktemp("project"))
    # Eight warm environments boot in the background while the first tests run.
    local = LocalStack(template, create_admin=False, jwt_secret="unit-secret", warm_workers=8)
    local.start()
    yield local
    local.stop()


@pytest.fixture
def api(stack: LocalStack) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _echo(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def test_local_stack_gateway_routes_path_parameters_and_passes_authorizer_context(
    stack: LocalStack, api: requests.Session
) -> None:
    seen = _echo(
        api.get(f"{stack.base_url}/items/a%20b?tag=x&tag=y&single=1", headers={"Authorization": "allow bob"})
    )

    event = seen["event"]
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/a%20b"
    assert event["pathParameters"] == {"id": "a b"}
    assert event["rawQueryString"] == "tag=x&tag=y&single=1"
    assert event["queryStringParameters"] == {"tag": "x,y", "single": "1"}
    assert event["requestContext"]["authorizer"] == {"lambda": {"user": "bob", "source": ["allow bob"]}}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["headers"]["authorization"] == "allow bob"
    assert seen["context"]["name"] == "EchoFunction"
    assert seen["context"]["memory"] == 256
    assert 0 < seen["context"]["remaining"] <= 5000


def test_local_stack_gateway_sets_the_template_environment(stack: LocalStack, api: requests.Session) -> None:
    seen = _echo(api.get(f"{stack.base_url}/public/echo"))

    assert seen["env"] == {
        "TABLE_NAME": "Table",
        "BUCKET_NAME": "bucket-local",
        "GREETING": "hello-us-east-1",
        "SECRET_ARN": None,
        "JWT_SECRET": "unit-secret",
    }


def test_local_stack_gateway_prefers_exact_routes_and_matches_greedy_paths(
    stack: LocalStack, api: requests.Session
) -> None:
    auth = {"Authorization": "allow bob"}

    summary = api.get(f"{stack.base_url}/items/summary", headers=auth)
    files = _echo(api.post(f"{stack.base_url}/items/7/files/a/b%2Fc.txt", headers=auth))["event"]

    assert summary.json() == {"route": "GET /items/summary"}  # a dict without statusCode: 200 + JSON
    assert files["routeKey"] == "POST /items/{id}/files/{proxy+}"
    assert files["pathParameters"] == {"id": "7", "proxy": "a/b/c.txt"}


def test_local_stack_gateway_any_method_and_trailing_slash(stack: LocalStack, api: requests.Session) -> None:
    event = _echo(api.delete(f"{stack.base_url}/public/echo/"))["event"]

    assert event["routeKey"] == "ANY /public/echo"
    assert event["requestContext"]["http"]["method"] == "DELETE"
    assert "body" not in event
    assert "pathParameters" not in event
    assert "queryStringParameters" not in event


def test_local_stack_gateway_unknown_route_is_404(stack: LocalStack, api: requests.Session) -> None:
    for response in (api.get(f"{stack.base_url}/nowhere"), api.put(f"{stack.base_url}/items/1")):
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}])
def test_local_stack_gateway_missing_identity_is_401(
    stack: LocalStack, api: requests.Session, headers: dict[str, str]
) -> None:
    response = api.get(f"{stack.base_url}/items/1", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        ("deny", 403, "Forbidden"),
        ("crash", 500, "Internal Server Error"),
        ("malformed", 500, "Internal Server Error"),
    ],
)
def test_local_stack_gateway_authorizer_verdicts(
    stack: LocalStack, api: requests.Session, token: str, status: int, message: str
) -> None:
    response = api.get(f"{stack.base_url}/items/1", headers={"Authorization": token})

    assert response.status_code == status
    assert response.json() == {"message": message}


def test_local_stack_gateway_binary_body_round_trips(stack: LocalStack, api: requests.Session) -> None:
    payload = b"\x00\x01\xff\xfe not utf-8 \xc3\x28" + bytes(range(256))

    response = api.post(
        f"{stack.base_url}/raw", data=payload, headers={"Content-Type": "application/octet-stream"}
    )

    assert response.status_code == 201
    assert response.content == payload


def test_local_stack_gateway_json_body_arrives_as_text(stack: LocalStack, api: requests.Session) -> None:
    event = _echo(api.post(f"{stack.base_url}/public/echo", json={"name": "Zelda ✓"}))["event"]

    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"name": "Zelda ✓"}


def test_local_stack_gateway_multipart_body_passes_through_unchanged(
    stack: LocalStack, api: requests.Session
) -> None:
    request = requests.Request(
        "POST", f"{stack.base_url}/public/echo", files={"saveFile": ("game.srm", b"\x00SAVE\xff" * 100)}
    ).prepare()

    event = _echo(api.send(request))["event"]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == request.body
    assert event["headers"]["content-type"] == request.headers["Content-Type"]


def test_local_stack_gateway_chunked_body_is_read(stack: LocalStack, api: requests.Session) -> None:
    chunks = iter([b"\x00chunk-one,", b"chunk-two\xff"])

    response = api.post(
        f"{stack.base_url}/raw", data=chunks, headers={"Content-Type": "application/octet-stream"}
    )

    assert response.content == b"\x00chunk-one,chunk-two\xff"


def test_local_stack_gateway_cookies_both_ways_and_base64_response(
    stack: LocalStack, api: requests.Session
) -> None:
    response = api.get(f"{stack.base_url}/cookies")
    echoed = _echo(api.get(f"{stack.base_url}/public/echo", headers={"Cookie": "session=abc; theme=dark"}))[
        "event"
    ]

    assert response.content == b"\x00\xffbinary"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert echoed["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in echoed["headers"]


def test_local_stack_gateway_non_dict_result_is_200_json(stack: LocalStack, api: requests.Session) -> None:
    response = api.get(f"{stack.base_url}/bare")

    assert response.status_code == 200
    assert response.json() == ["no", "statusCode"]


def test_local_stack_gateway_function_error_is_500_without_details(
    stack: LocalStack, api: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    response = api.get(f"{stack.base_url}/boom")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "secret internals" not in response.text
    assert "secret internals" in capfd.readouterr().err  # the traceback is logged, not sent


def test_local_stack_gateway_integration_timeout_is_503(stack: LocalStack, api: requests.Session) -> None:
    started = time.perf_counter()

    response = api.get(f"{stack.base_url}/slow")

    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}
    assert time.perf_counter() - started < 3  # the route's 300 ms limit, not the handler's 30 s sleep


def test_local_stack_gateway_oversized_request_is_413(stack: LocalStack, api: requests.Session) -> None:
    response = api.post(f"{stack.base_url}/raw", data=b"\x00" * (5 * 1024 * 1024))  # > 6 MB once base64

    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_local_stack_gateway_serves_requests_concurrently(stack: LocalStack) -> None:
    def sleep_request(_: int) -> int:
        return requests.get(f"{stack.base_url}/sleep", timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(sleep_request, range(8))) == [204] * 8  # warms eight Lambda environments
        started = time.perf_counter()
        statuses = list(pool.map(sleep_request, range(8)))
        elapsed = time.perf_counter() - started

    assert statuses == [204] * 8
    assert elapsed < 1.2  # 8 x 0.2 s in sequence would take 1.6 s


@pytest.mark.parametrize("method", ["MKCOL", "MOVE", "OPTIONS", "PROPFIND", "GET"])
def test_local_stack_function_url_passes_every_method_and_path_unauthorized(
    stack: LocalStack, api: requests.Session, method: str
) -> None:
    url = stack.function_urls["DoorFunction"]

    response = api.request(method, f"{url}api/cloud-sync/saves/A%20B.srm", headers={"Destination": "x"})

    event = _echo(response)["event"]
    assert event["routeKey"] == "$default" and event["rawPath"] == "/api/cloud-sync/saves/A%20B.srm"
    assert event["requestContext"]["http"]["method"] == method
    assert event["requestContext"]["accountId"] == "anonymous" and "authorizer" not in event["requestContext"]
    assert event["headers"]["destination"] == "x"
    assert url != f"{stack.base_url}/"  # an endpoint of its own, as on AWS


def test_local_stack_function_url_refuses_payloads_lambda_refuses(
    stack: LocalStack, api: requests.Session
) -> None:
    url = stack.function_urls["DoorFunction"]

    response = api.put(f"{url}big", data=b"\x00" * (5 * 1024 * 1024))  # > 6 MB once base64

    assert response.status_code == 413


def test_local_stack_runs_a_scheduled_function_with_eventbridges_event(stack: LocalStack) -> None:
    payload = stack.invoke_scheduled("EchoFunction")

    assert payload is not None
    event = json.loads(json.loads(payload)["body"])["event"]
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert event["resources"][0].endswith(":rule/EchoFunction")
