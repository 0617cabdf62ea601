"""Reading template.yaml for the local stack: short tags, functions, routes, authorizers, resolved values."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.resolver import NO_VALUE, Resolver, Unresolvable
from local_stack.stack import LocalStackError, function_environment
from local_stack.template import TemplateError, load_template, load_yaml

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example, https://b.example"}
  NoDefault: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
Mappings:
  Sizes: {dev: {Memory: 256}}
Globals:
  Function:
    Handler: app.lambda_handler
    Timeout: 15
    MemorySize: 512
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        STAGE: !Ref Stage
  HttpApi:
    Auth:
      DefaultAuthorizer: Main
Resources:
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Main:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 60
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/authorizer/
  GetRomFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/get_rom/
      Timeout: 30
      Environment:
        Variables:
          EXTRA: only-here
      Events:
        Api:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: get
            Path: /api/roms/{id}
        Public:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: GET
            Path: /api/roms/{id}/cover
            Auth:
              Authorizer: NONE
        Schedule:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Bucket:
    Type: AWS::S3::Bucket
  NamedBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: my-bucket
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: shared/
"""


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


@pytest.fixture
def resolver(template_path: Path) -> Resolver:
    return Resolver(load_template(template_path), "eu-west-1")


def test_local_stack_template_short_tags_become_long_form() -> None:
    document = load_yaml(
        """
        a: !Ref X
        b: !GetAtt Fn.Arn
        c: !GetAtt [Fn, Arn]
        d: !Sub "${X}-y"
        e: !Sub ["${A}", {A: !Ref X}]
        f: !If [Cond, !Ref X, !Ref AWS::NoValue]
        g: !Join [",", [!Select [0, !Split ["-", "a-b"]], !FindInMap [M, K, V]]]
        h: !And [!Equals [1, 1], !Or [!Not [!Condition C]]]
        i: !ImportValue Exported
        j: !Base64 text
        k: !GetAZs ""
        l: !Cidr [10.0.0.0/16, 2, 8]
        """
    )

    assert document["a"] == {"Ref": "X"}
    assert document["b"] == document["c"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert document["d"] == {"Fn::Sub": "${X}-y"}
    assert document["e"] == {"Fn::Sub": ["${A}", {"A": {"Ref": "X"}}]}
    assert document["f"] == {"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]}
    assert document["g"]["Fn::Join"][1][0] == {"Fn::Select": [0, {"Fn::Split": ["-", "a-b"]}]}
    assert document["g"]["Fn::Join"][1][1] == {"Fn::FindInMap": ["M", "K", "V"]}
    assert document["h"] == {
        "Fn::And": [{"Fn::Equals": [1, 1]}, {"Fn::Or": [{"Fn::Not": [{"Condition": "C"}]}]}]
    }
    assert document["i"] == {"Fn::ImportValue": "Exported"}
    assert document["j"] == {"Fn::Base64": "text"}
    assert document["k"] == {"Fn::GetAZs": ""}
    assert document["l"] == {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}


def test_local_stack_template_functions_merge_globals(template_path: Path) -> None:
    template = load_template(template_path)

    function = template.functions["GetRomFunction"]
    assert function.code_dir == template_path.parent / "functions" / "get_rom"
    assert function.handler == "app.lambda_handler"
    assert (function.timeout, function.memory_size) == (30, 512)
    assert function.environment == {
        "TABLE_NAME": {"Ref": "Table"},
        "STAGE": {"Ref": "Stage"},
        "EXTRA": "only-here",
    }
    assert template.layer_dirs == [template_path.parent / "shared"]


def test_local_stack_template_routes_and_authorizer(template_path: Path) -> None:
    template = load_template(template_path)

    routes = {route.route_key: route for route in template.routes}
    assert set(routes) == {"GET /api/roms/{id}", "GET /api/roms/{id}/cover"}
    assert routes["GET /api/roms/{id}"].authorizer == "HttpApi/Main"
    assert routes["GET /api/roms/{id}/cover"].authorizer is None
    authorizer = template.authorizers["HttpApi/Main"]
    assert authorizer.function == "AuthorizerFunction"
    assert authorizer.identity_headers == ("Authorization",)
    assert authorizer.reauthorize_every == 60


def test_local_stack_template_rejects_payload_version_1(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        TEMPLATE.replace(
            "Path: /api/roms/{id}\n", "Path: /api/roms/{id}\n            PayloadFormatVersion: '1.0'\n"
        )
    )

    with pytest.raises(TemplateError, match=r"payload format 2\.0"):
        load_template(path)


def test_local_stack_template_resolves_local_names(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "Table"}) == "Table"
    assert resolver.resolve({"Ref": "Bucket"}) == "bucket-local"
    assert resolver.resolve({"Ref": "NamedBucket"}) == "my-bucket"
    assert resolver.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert (
        resolver.resolve({"Fn::GetAtt": ["Table", "Arn"]})
        == "arn:aws:dynamodb:eu-west-1:123456789012:table/Table"
    )
    assert resolver.resolve({"Fn::Sub": "${Bucket.Arn}/*"}) == "arn:aws:s3:::bucket-local/*"


def test_local_stack_template_resolves_parameters_and_conditions(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "Stage"}) == "dev"
    assert resolver.resolve({"Ref": "Origins"}) == ["https://a.example", "https://b.example"]
    assert resolver.resolve({"Fn::If": ["IsNotProd", "relaxed", "strict"]}) == "relaxed"
    assert resolver.resolve({"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}) is NO_VALUE
    assert (
        resolver.resolve({"Fn::Sub": ["${Stage}-${Extra}-${!Literal}", {"Extra": "e"}]}) == "dev-e-${Literal}"
    )
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 256
    assert (
        resolver.resolve({"Fn::Join": ["-", ["a", {"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}]]})
        == "a-y"
    )


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::ImportValue": "X"},
        {"Ref": "NoDefault"},
        {"Ref": "Missing"},
        {"Fn::GetAtt": ["Table", "StreamArn"]},
    ],
)
def test_local_stack_template_unresolvable_values(resolver: Resolver, value: dict[str, object]) -> None:
    with pytest.raises(Unresolvable):
        resolver.resolve(value)
    assert resolver.resolve_or(value, "unset") == "unset"


def test_local_stack_template_parameter_overrides_win(template_path: Path) -> None:
    resolver = Resolver(load_template(template_path), "us-east-1", parameter_overrides={"Stage": "prod"})

    assert resolver.resolve({"Fn::If": ["IsProd", "strict", "relaxed"]}) == "strict"


def test_local_stack_template_function_environment_merges_and_detects_conflicts(template_path: Path) -> None:
    template = load_template(template_path)
    resolver = Resolver(template, "us-east-1")

    variables, unresolved = function_environment(template, resolver)
    assert variables == {"TABLE_NAME": "Table", "STAGE": "dev", "EXTRA": "only-here"}
    assert unresolved == []

    template.functions["AuthorizerFunction"].environment["EXTRA"] = "different"
    with pytest.raises(LocalStackError, match="EXTRA"):
        function_environment(template, resolver)


def test_local_stack_template_repo_template_is_servable() -> None:
    template = load_template(ROOT / "template.yaml")

    assert template.routes, "no HttpApi routes found"
    for route in template.routes:
        function = template.functions[route.function]
        assert (function.code_dir / "app.py").is_file(), (
            f"{route.route_key}: {function.code_dir} has no app.py"
        )
        if route.authorizer is not None:
            assert template.authorizers[route.authorizer].function in template.functions
    assert any(route.authorizer is None for route in template.routes)
    function_environment(template, Resolver(template, "us-east-1"))  # no two functions disagree


@pytest.mark.parametrize(
    ("config", "error"),
    [("{AuthType: AWS_IAM}", "AuthType NONE"), ("{AuthType: NONE, InvokeMode: RESPONSE_STREAM}", "BUFFERED")],
)
def test_local_stack_template_function_urls(tmp_path: Path, config: str, error: str) -> None:
    body = """
Resources:
  Door:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: door/, Handler: app.lambda_handler, FunctionUrlConfig: CONFIG}
"""
    path = tmp_path / "template.yaml"
    path.write_text(body.replace("CONFIG", "{AuthType: NONE}"))
    assert [url.function for url in load_template(path).function_urls] == ["Door"]

    path.write_text(body.replace("CONFIG", config))
    with pytest.raises(TemplateError, match=error):
        load_template(path)


def test_local_stack_template_reads_rate_schedules_and_refuses_cron(tmp_path: Path) -> None:
    from local_stack.template import Schedule

    schedules = load_template(ROOT / "template.yaml").schedules
    assert Schedule("ReconcileObjectsFunction", 900) in schedules

    cron = """
Resources:
  Nightly:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: nightly/
      Handler: app.lambda_handler
      Runtime: python3.13
      Events:
        Night: {Type: Schedule, Properties: {Schedule: "cron(0 3 * * ? *)"}}
"""
    (tmp_path / "template.yaml").write_text(cron)
    with pytest.raises(TemplateError, match="rate"):
        load_template(tmp_path / "template.yaml")
