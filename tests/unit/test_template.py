"""Design invariants of template.yaml, read as data: no SAM CLI, no AWS, no imports of the handlers."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "AWS::Serverless::Function"
AUTHORIZER = "AuthorizerFunction"
# A protocol door with methods the HTTP API does not route: served by its own function URL instead.
FUNCTION_URL_DOORS = {"CloudSyncFunction"}
# Run by EventBridge on a schedule, never by a request: exempt from the route rules, explicitly.
SCHEDULED_FUNCTIONS = {"ReconcileObjectsFunction"}
PUBLIC_ROUTES = {
    ("GET", "/api/heartbeat"),
    ("POST", "/api/token"),
    ("POST", "/api/auth/device/init"),
    ("POST", "/api/auth/device/token"),
    ("GET", "/openapi.json"),
    # a device pairing with a client token has no credentials yet (RomM's public pairing routes)
    ("GET", "/api/client-tokens/pair/{code}/status"),
    ("POST", "/api/client-tokens/exchange"),
}
COMPLETE_FUNCTIONS = ("CompleteSaveUploadFunction", "CompleteStateUploadFunction")
# GET .../content records which device synced what, so these two GETs may write.
RECORDS_DEVICE_SYNC = {"DownloadSaveFunction", "DownloadStateFunction"}
WRITE_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy",
    "DynamoDBWritePolicy",
    "S3CrudPolicy",
    "S3WritePolicy",
    "S3FullAccessPolicy",
}
READ_ACTION_VERBS = ("Get", "BatchGet", "Query", "Scan", "Describe", "List", "ConditionCheck")


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads `!Ref X` as {"Ref": "X"} (and likewise every short tag) so the template loads as data."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {key: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    return {key: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _short_tag)
TEMPLATE: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
FUNCTIONS = {name: res for name, res in RESOURCES.items() if res["Type"] == FUNCTION}


def _only(resource_type: str) -> dict[str, Any]:
    found = [res for res in RESOURCES.values() if res["Type"] == resource_type]
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def _routes(function: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    events = function["Properties"].get("Events", {}).values()
    return [
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"], e["Properties"])
        for e in events
        if e["Type"] == "HttpApi"
    ]


def _policy_names(function: dict[str, Any]) -> set[str]:
    """The SAM policy templates (and managed policy names) a function lists; inline statements aside."""
    names: set[str] = set()
    for policy in function["Properties"].get("Policies", []):
        names |= {policy} if isinstance(policy, str) else set(policy) - {"Statement", "Ref"}
    return names


def _statements(policy: Any) -> list[dict[str, Any]]:
    """The statements of an inline policy, or of the template's own managed policy it references."""
    if isinstance(policy, dict) and "Ref" in policy:
        managed = RESOURCES[policy["Ref"]]
        assert managed["Type"] == "AWS::IAM::ManagedPolicy", policy
        return list(managed["Properties"]["PolicyDocument"]["Statement"])
    return list(policy.get("Statement", [])) if isinstance(policy, dict) else []


def _inline_actions(function: dict[str, Any]) -> list[str]:
    """Every action a function is allowed through statements: its own and its managed policies'."""
    actions: list[str] = []
    for policy in function["Properties"].get("Policies", []):
        for statement in _statements(policy):
            if statement.get("Effect") == "Allow":
                action = statement["Action"]
                actions += [action] if isinstance(action, str) else action
    return actions


def test_template_functions_are_one_per_endpoint() -> None:
    # Given every function but the authorizer and the function-URL door
    exempt = {AUTHORIZER, *FUNCTION_URL_DOORS, *SCHEDULED_FUNCTIONS}
    endpoints = {name: fn for name, fn in FUNCTIONS.items() if name not in exempt}

    # Then each answers exactly one HttpApi route, on the stack's own API, and the authorizer none
    assert len(endpoints) >= 40
    for name, fn in endpoints.items():
        events = fn["Properties"].get("Events", {})
        assert [e["Type"] for e in events.values()] == ["HttpApi"], name
        assert next(iter(events.values()))["Properties"].get("ApiId") == {"Ref": "HttpApi"}, name
    assert "Events" not in FUNCTIONS[AUTHORIZER]["Properties"]


def test_template_scheduled_functions_have_one_schedule_and_no_route_or_url() -> None:
    scheduled = {
        name
        for name, fn in FUNCTIONS.items()
        if any(e["Type"] == "Schedule" for e in fn["Properties"].get("Events", {}).values())
    }
    assert scheduled == SCHEDULED_FUNCTIONS
    for name in SCHEDULED_FUNCTIONS:
        props = FUNCTIONS[name]["Properties"]
        assert [e["Type"] for e in props["Events"].values()] == ["Schedule"], name
        assert next(iter(props["Events"].values()))["Properties"]["Schedule"] == "rate(15 minutes)"
        assert "FunctionUrlConfig" not in props
        # it deletes bytes: only under users/ (never staging/, whose lifecycle rule owns it)
        resources = [
            s["Resource"]
            for p in props["Policies"]
            for s in _statements(p)
            if "s3:DeleteObject" in s["Action"]
        ]
        assert resources == [{"Fn::Sub": "${Bucket.Arn}/users/*"}]


def test_template_each_route_has_exactly_one_function() -> None:
    owners: dict[tuple[str, str], list[str]] = {}
    for name, fn in FUNCTIONS.items():
        for method, path, _ in _routes(fn):
            owners.setdefault((method, path), []).append(name)

    shared = {route: names for route, names in owners.items() if len(names) != 1}
    assert shared == {}
    assert all(method != "ANY" and not path.endswith("{proxy+}") for method, path in owners)


def test_template_globals_pin_python313_arm64_and_the_handler() -> None:
    defaults = TEMPLATE["Globals"]["Function"]

    assert defaults["Runtime"] == "python3.13"
    assert defaults["Architectures"] == ["arm64"]
    assert defaults["Handler"] == "app.lambda_handler"
    assert defaults["Layers"] == [{"Ref": "SharedLayer"}]
    overriding = {
        name: sorted({"Runtime", "Architectures", "Handler"} & set(fn["Properties"]))
        for name, fn in FUNCTIONS.items()
    }
    assert {name: keys for name, keys in overriding.items() if keys} == {}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_template_function_dir_has_app_with_lambda_handler(name: str) -> None:
    code_uri = FUNCTIONS[name]["Properties"]["CodeUri"]
    app = ROOT / code_uri / "app.py"

    assert code_uri.startswith("functions/")
    assert app.is_file(), f"{app.relative_to(ROOT)} is missing"
    module = ast.parse(app.read_text(), filename=str(app))
    defined = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    defined |= {
        target.id
        for node in module.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "lambda_handler" in defined


def test_template_read_only_get_functions_cannot_write() -> None:
    # Given the functions that only answer GET, apart from the ones that record device syncs
    readers = {
        name: fn
        for name, fn in FUNCTIONS.items()
        if name not in RECORDS_DEVICE_SYNC and {m for m, _, _ in _routes(fn)} == {"GET"}
    }
    assert len(readers) >= 10

    # Then none holds a write policy template or an inline write action
    writers = {name: sorted(_policy_names(fn) & WRITE_POLICY_TEMPLATES) for name, fn in readers.items()}
    assert {name: found for name, found in writers.items() if found} == {}
    inline = {
        name: [a for a in _inline_actions(fn) if not a.split(":")[-1].startswith(READ_ACTION_VERBS)]
        for name, fn in readers.items()
    }
    assert {name: found for name, found in inline.items() if found} == {}


def test_template_write_exemption_covers_only_get_content_routes() -> None:
    for name in RECORDS_DEVICE_SYNC:
        assert [(m, p.endswith("/content")) for m, p, _ in _routes(FUNCTIONS[name])] == [("GET", True)], name


def test_template_table_is_on_demand_with_pitr_ttl_and_retained() -> None:
    table = _only("AWS::DynamoDB::Table")
    props = table["Properties"]

    assert props["DeletionProtectionEnabled"] is True
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at_epoch", "Enabled": True}
    assert (table.get("DeletionPolicy"), table.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_template_bucket_is_private_versioned_encrypted_and_retained() -> None:
    bucket = _only("AWS::S3::Bucket")
    props = bucket["Properties"]

    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algorithm = encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    assert algorithm in {"AES256", "aws:kms", "aws:kms:dsse"}
    assert (bucket.get("DeletionPolicy"), bucket.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_template_bucket_lifecycle_cleans_old_versions_staging_and_multipart() -> None:
    rules = _only("AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"]["Rules"]
    enabled = [r for r in rules if r.get("Status") == "Enabled"]

    def prefix(rule: dict[str, Any]) -> str | None:
        return rule.get("Prefix", rule.get("Filter", {}).get("Prefix"))

    assert any("NoncurrentVersionExpiration" in r and prefix(r) in (None, "") for r in enabled)
    assert any(prefix(r) == "staging/" and r.get("ExpirationInDays") == 1 for r in enabled)
    abort_after = [r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") for r in enabled]
    assert any(days is not None and days >= 1 for days in abort_after)


def test_template_bucket_denies_plain_http() -> None:
    policy = _only("AWS::S3::BucketPolicy")["Properties"]

    assert policy["Bucket"] == {"Ref": "Bucket"}
    assert any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy["PolicyDocument"]["Statement"]
    )


def test_template_authorizer_is_payload_v2_simple_and_cached_per_authorization_header() -> None:
    auth = _only("AWS::Serverless::HttpApi")["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert authorizer["FunctionArn"] == {"Fn::GetAtt": "AuthorizerFunction.Arn"}
    assert str(authorizer["AuthorizerPayloadFormatVersion"]) == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert "ReauthorizeEvery" in authorizer["Identity"]


def test_template_only_the_public_routes_skip_the_authorizer() -> None:
    auth = _only("AWS::Serverless::HttpApi")["Properties"]["Auth"]
    routes = [(m, p, props) for fn in FUNCTIONS.values() for m, p, props in _routes(fn)]

    public = {(m, p) for m, p, props in routes if props.get("Auth", {}).get("Authorizer") == "NONE"}
    assert public == PUBLIC_ROUTES
    # every other route falls back to the default authorizer, none names another one
    assert auth["DefaultAuthorizer"] in auth["Authorizers"]
    assert all("Auth" not in props for m, p, props in routes if (m, p) not in PUBLIC_ROUTES)


def test_template_public_routes_are_the_handlers_that_skip_the_credentials_check() -> None:
    # make_app() answers 401 before parsing unless told the route is public: the two lists must agree
    public_in_code = {
        name
        for name, fn in FUNCTIONS.items()
        if "make_app(public=True)" in (ROOT / fn["Properties"]["CodeUri"] / "app.py").read_text()
    }
    public_in_template = {
        name for name, fn in FUNCTIONS.items() if {(m, p) for m, p, _ in _routes(fn)} & PUBLIC_ROUTES
    }

    assert public_in_code == public_in_template


def test_template_layer_is_built_for_arm64_python313() -> None:
    layer = RESOURCES["SharedLayer"]

    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]


def test_template_functions_build_with_the_one_functions_makefile() -> None:
    # sam build reads functions/Makefile (ContextPath) in a copy of each CodeUri; a per-function
    # Makefile would be silently ignored, so none may linger.
    expected = {"BuildMethod": "makefile", "ContextPath": "functions/"}
    metadata = {name: fn.get("Metadata") for name, fn in FUNCTIONS.items()}

    assert {name: found for name, found in metadata.items() if found != expected} == {}
    assert sorted(p.parent.name for p in (ROOT / "functions").glob("*/Makefile")) == []


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_template_every_build_target_exists() -> None:
    targets = {name: ROOT / "functions/Makefile" for name in FUNCTIONS}
    targets["SharedLayer"] = ROOT / "shared/Makefile"

    missing = {}
    for name, makefile in targets.items():
        dry_run = subprocess.run(
            ["make", "--dry-run", "--makefile", str(makefile), f"build-{name}", "ARTIFACTS_DIR=/nonexistent"],
            cwd=makefile.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        if dry_run.returncode != 0 or "/nonexistent" not in dry_run.stdout:
            missing[name] = dry_run.stderr.strip()
    assert missing == {}


def test_template_function_url_doors_check_credentials_themselves_and_pass_every_method() -> None:
    urls = {name: fn["Properties"].get("FunctionUrlConfig") for name, fn in FUNCTIONS.items()}

    assert {name for name, config in urls.items() if config} == FUNCTION_URL_DOORS
    for name in FUNCTION_URL_DOORS:
        # AuthType NONE: the function checks HTTP Basic; no Cors, so every OPTIONS reaches it
        assert urls[name] == {"AuthType": "NONE", "InvokeMode": "BUFFERED"}
        assert "Events" not in FUNCTIONS[name]["Properties"]
    assert TEMPLATE["Outputs"]["CloudSyncUrl"]["Value"] == {
        "Fn::Sub": "${CloudSyncFunctionUrl.FunctionUrl}api/cloud-sync/"
    }


# SAM policy templates that grant more than any function needs (Scan, DescribeTable, PutObjectAcl,
# Put/GetLifecycleConfiguration): the template lists explicit actions instead.
BROAD_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy",
    "DynamoDBReadPolicy",
    "DynamoDBWritePolicy",
    "S3CrudPolicy",
    "S3ReadPolicy",
    "S3WritePolicy",
    "S3FullAccessPolicy",
}
FORBIDDEN_ACTIONS = {"dynamodb:Scan", "s3:PutLifecycleConfiguration", "s3:PutObjectAcl", "s3:PutBucketPolicy"}


def test_template_no_function_may_scan_or_change_acls_and_bucket_configuration() -> None:
    broad = {name: sorted(_policy_names(fn) & BROAD_POLICY_TEMPLATES) for name, fn in FUNCTIONS.items()}
    assert {name: found for name, found in broad.items() if found} == {}

    granted = {name: set(_inline_actions(fn)) for name, fn in FUNCTIONS.items()}
    forbidden = {name: sorted(actions & FORBIDDEN_ACTIONS) for name, actions in granted.items()}
    assert {name: found for name, found in forbidden.items() if found} == {}
    wildcards = {name: sorted(a for a in actions if "*" in a) for name, actions in granted.items()}
    assert {name: found for name, found in wildcards.items() if found} == {}
    # and every endpoint but the two that answer from the code alone still reaches the table
    tableless = {n for n in FUNCTIONS if not any(a.startswith("dynamodb:") for a in granted[n])}
    assert tableless == {"HeartbeatFunction", "GetOpenApiFunction"}


def test_template_every_function_logs_to_one_group_with_a_retention() -> None:
    logging = TEMPLATE["Globals"]["Function"]["LoggingConfig"]
    group = RESOURCES[logging["LogGroup"]["Ref"]]

    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] in (7, 14, 30, 60, 90)
    assert [name for name, fn in FUNCTIONS.items() if "LoggingConfig" in fn["Properties"]] == []


def test_template_throttles_the_api_and_the_token_route_more() -> None:
    api = _only("AWS::Serverless::HttpApi")["Properties"]
    params = TEMPLATE["Parameters"]
    token_route = next(
        props for _, path, props in _routes(FUNCTIONS["TokenFunction"]) if path == "/api/token"
    )

    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottleRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurstLimit"},
    }
    assert token_route["RouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "TokenThrottleRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "TokenThrottleBurstLimit"},
    }
    assert params["TokenThrottleRateLimit"]["Default"] * 10 <= params["ApiThrottleRateLimit"]["Default"]
    assert params["TokenThrottleBurstLimit"]["Default"] * 10 <= params["ApiThrottleBurstLimit"]["Default"]


@pytest.mark.parametrize(
    ("function", "parameter", "condition"),
    [
        ("AuthorizerFunction", "AuthorizerReservedConcurrency", "ReservesAuthorizerConcurrency"),
        ("TokenFunction", "TokenReservedConcurrency", "ReservesTokenConcurrency"),
    ],
)
def test_template_bcrypt_functions_have_reserved_concurrency_that_can_be_off(function, parameter, condition):
    reserved = FUNCTIONS[function]["Properties"]["ReservedConcurrentExecutions"]

    # 0 must mean "no reservation", not "disabled" (a reservation of 0 throttles every call)
    assert reserved == {"Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}
    assert TEMPLATE["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}
    # the defaults together leave far more than the 100 an account must keep unreserved of its 1,000
    params = TEMPLATE["Parameters"]
    assert (
        params["AuthorizerReservedConcurrency"]["Default"] + params["TokenReservedConcurrency"]["Default"]
        <= 100
    )


def test_template_authorizer_cache_is_short_by_default() -> None:
    auth = _only("AWS::Serverless::HttpApi")["Properties"]["Auth"]
    identity = auth["Authorizers"][auth["DefaultAuthorizer"]]["Identity"]

    # refusals are cached as long as acceptances: keep both short (README "Security")
    assert identity["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheSeconds"}
    assert TEMPLATE["Parameters"]["AuthorizerCacheSeconds"]["Default"] <= 60


def test_template_complete_claim_lease_just_outlives_the_complete_functions() -> None:
    from cloudsaves.services.uploads import CLAIM_LEASE, WAIT_FOR_OTHER_SECONDS

    timeouts = {FUNCTIONS[name]["Properties"]["Timeout"] for name in COMPLETE_FUNCTIONS}
    lease = CLAIM_LEASE.total_seconds()

    # a live completer's claim is never taken over; a dead one's is free again soon after
    assert len(timeouts) == 1 and max(timeouts) < lease <= max(timeouts) + 30
    # a complete waiting for another one gives up well inside its own run
    assert max(timeouts) / 2 > WAIT_FOR_OTHER_SECONDS
