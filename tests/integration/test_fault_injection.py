"""Fault injection: each AWS call of an upload, a direct complete, a replace and a delete fails in turn,
or the function dies right after it; then no record points at missing bytes, and once the orphan sweep
has run an hour later, no bytes outside staging/ lack a record.

Every call goes through botocore's `BaseClient._make_api_call`, patched here: the flow's calls are
recorded once without faults, then for each index i the flow runs again on a fresh table and bucket
with call i raising a ClientError (the API must answer with a `detail`), and again with call i
succeeding and the function killed right after (a BaseException no handler catches; every later call
of that request raises it too, as a dead function makes none).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from cloudsaves.aws import s3_client, table
from cloudsaves.clock import iso, utcnow
from cloudsaves.models.roms import RomUpsert
from cloudsaves.repositories import keys
from cloudsaves.services.orphans import object_ledger, sweep
from cloudsaves.services.roms import upsert_rom
from tests.assets_support import multipart
from tests.conftest import TEST_BUCKET, api_event, load_function, make_principal, response_json

USER = make_principal(user_id=1001, username="alice")
ROM = 10
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
_ORIGINAL_CALL = BaseClient._make_api_call
_ERROR_CODES = {"dynamodb": "InternalServerError", "s3": "InternalError"}


class Killed(BaseException):
    """The Lambda environment ending mid-request: not an Exception, so no handler catches it."""


@dataclass
class FaultPlan:
    index: int | None = None  # the call to fault; None: record only
    mode: str = "error"  # "error": call `index` raises; "kill": it succeeds, then the function dies
    calls: list[str] = field(default_factory=list)
    dead: bool = False


_active: FaultPlan | None = None


def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    plan = _active
    if plan is None:
        return _ORIGINAL_CALL(self, operation_name, api_params)
    if plan.dead:
        raise Killed(operation_name)
    service = self.meta.service_model.service_name
    index = len(plan.calls)
    plan.calls.append(f"{service}:{operation_name}")
    if index != plan.index:
        return _ORIGINAL_CALL(self, operation_name, api_params)
    if plan.mode == "error":
        error = {"Error": {"Code": _ERROR_CODES.get(service, "ServiceUnavailable"), "Message": "injected"}}
        raise ClientError(error, operation_name)  # type: ignore[arg-type]
    _ORIGINAL_CALL(self, operation_name, api_params)
    plan.dead = True
    raise Killed(operation_name)


@pytest.fixture
def faults(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(BaseClient, "_make_api_call", _make_api_call)
    yield
    global _active
    _active = None


# --- the flows: a setup (never faulted) that returns the request to fault --------------------------


def _call(function: str, method: str, path: str, route: str, **kwargs: Any) -> dict[str, Any]:
    event = api_event(method, path, route=route, principal=USER, **kwargs)
    return _functions(function).lambda_handler(event, _Context())


@dataclass
class _Context:
    function_name: str = "fault-injection"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fault-injection"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


_loaded: dict[str, Any] = {}


def _functions(name: str) -> Any:
    if name not in _loaded:
        _loaded[name] = load_function(name)
    return _loaded[name]


def _upload(
    kind: str, data: bytes, name: str, screenshot: bytes | None = None, **query: str
) -> dict[str, Any]:
    files = {f"{kind}File": (name, data)}
    if screenshot is not None:
        files["screenshotFile"] = ("shot.png", screenshot)
    body, content_type = multipart(files)
    return _call(
        f"upload_{kind}",
        "POST",
        f"/api/{kind}s",
        f"/api/{kind}s",
        query={"rom_id": str(ROM), **query},
        body=body,
        headers={"content-type": content_type},
    )


def _upload_save_over_same_name() -> Callable[[], dict[str, Any]]:
    # slot-less, same name: the commit rewrites the save in place and lets go of its old bytes
    assert _upload("save", b"old save", "emerald.srm", PNG)["statusCode"] == 200
    return lambda: _upload("save", b"new save", "emerald.srm", PNG + b"new")


def _upload_to_slot_with_autocleanup() -> Callable[[], dict[str, Any]]:
    # a slot keeping one save: the commit adds the new one, then deletes the older with its bytes
    slot = {"slot": "quick", "autocleanup": "true", "autocleanup_limit": "1"}
    assert _upload("save", b"older", "quick.srm", PNG, **slot)["statusCode"] == 200
    return lambda: _upload("save", b"newer", "quick.srm", **slot)


def _upload_new_state() -> Callable[[], dict[str, Any]]:
    return lambda: _upload("state", b"state bytes", "emerald.state", PNG)


def _direct_complete() -> Callable[[], dict[str, Any]]:
    data = b"direct save bytes"
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    request = {"rom_id": ROM, "file_name": "direct.srm", "file_size_bytes": len(data), "content_md5": md5}
    created = _call("create_save_upload", "POST", "/api/saves/uploads", "/api/saves/uploads", body=request)
    assert created["statusCode"] == 201, created
    upload_id = response_json(created)["upload_id"]
    staging = f"staging/{USER.user_id}/{upload_id}/file"
    s3_client().put_object(Bucket=TEST_BUCKET, Key=staging, Body=data, ContentMD5=md5)
    path = f"/api/saves/uploads/{upload_id}/complete"
    route = "/api/saves/uploads/{upload_id}/complete"
    return lambda: _call("complete_save_upload", "POST", path, route, path_params={"upload_id": upload_id})


def _replace_save() -> Callable[[], dict[str, Any]]:
    saved = _upload("save", b"first", "replace.srm", PNG)
    save_id = response_json(saved)["id"]
    body, content_type = multipart({"saveFile": ("replace.srm", b"second")})
    return lambda: _call(
        "update_save",
        "PUT",
        f"/api/saves/{save_id}",
        "/api/saves/{id}",
        path_params={"id": str(save_id)},
        body=body,
        headers={"content-type": content_type},
    )


def _delete_saves() -> Callable[[], dict[str, Any]]:
    ids = [response_json(_upload("save", b"one", "one.srm", PNG))["id"]]
    ids.append(response_json(_upload("save", b"two", "two.srm"))["id"])
    body = {"saves": ids}
    return lambda: _call("delete_saves", "POST", "/api/saves/delete", "/api/saves/delete", body=body)


def _gallery_screenshot_over_same_name() -> Callable[[], dict[str, Any]]:
    def upload(data: bytes) -> dict[str, Any]:
        body, content_type = multipart({"screenshotFile": ("gallery.png", data)})
        return _call(
            "upload_screenshot",
            "POST",
            "/api/screenshots",
            "/api/screenshots",
            query={"rom_id": str(ROM)},
            body=body,
            headers={"content-type": content_type},
        )

    assert upload(PNG)["statusCode"] == 200
    return lambda: upload(PNG + b"replaced")


def _door_put_over_plain_file() -> Callable[[], dict[str, Any]]:
    from cloudsaves.auth.scopes import Role
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    user = create_user(UserCreate(username="retro", password="retro-pass-1", role=Role.VIEWER))
    basic = "Basic " + base64.b64encode(b"retro:retro-pass-1").decode()

    def put(data: bytes) -> dict[str, Any]:
        path = "/api/cloud-sync/config/retroarch.cfg"
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"host": "door.example", "authorization": basic},
            "requestContext": {
                "http": {"method": "PUT", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                "requestId": f"door-{user.id}",
                "routeKey": "$default",
                "stage": "$default",
            },
            "body": base64.b64encode(data).decode(),
            "isBase64Encoded": True,
        }
        return _functions("cloud_sync").lambda_handler(event, _Context())

    assert put(b"video_driver = gl")["statusCode"] == 201
    return lambda: put(b"video_driver = vulkan")


FLOWS: dict[str, Callable[[], Callable[[], dict[str, Any]]]] = {
    "upload save (multipart, replaces in place)": _upload_save_over_same_name,
    "upload save (multipart, slot with autocleanup)": _upload_to_slot_with_autocleanup,
    "upload state (multipart, new)": _upload_new_state,
    "direct upload complete": _direct_complete,
    "PUT /api/saves/{id}": _replace_save,
    "POST /api/saves/delete": _delete_saves,
    "gallery screenshot (replaces the same name)": _gallery_screenshot_over_same_name,
    "RetroArch door PUT (replaces a plain file)": _door_put_over_plain_file,
}


# --- the checks -----------------------------------------------------------------------------------


def _fresh_stack() -> None:
    import boto3
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    from local_stack.resources import create_all
    from tests.conftest import _template_resolver

    dynamodb_backends.reset()
    s3_backends.reset()
    create_all(_template_resolver(), boto3.client("dynamodb"), boto3.client("s3"))
    upsert_rom(
        ROM,
        RomUpsert(
            name="Emerald", fs_name="emerald.gba", platform_id=1, platform_slug="gba", platform_fs_slug="gba"
        ),
    )
    # The sweep starts at this hour (its first run would otherwise look back a day, shard by shard).
    object_ledger().set_cursor(keys.orphan_check_hour(iso(utcnow())))


def _referenced_keys() -> set[str]:
    """Every object key a record names (the test reads the whole table; the service never scans)."""
    found: set[str] = set()
    kwargs: dict[str, Any] = {}
    while True:
        page = table().scan(**kwargs)
        for item in page["Items"]:
            if str(item["pk"]).startswith("ORPHANCHECK#"):
                continue
            if isinstance(item.get("object_key"), str):
                found.add(item["object_key"])
            shot = item.get("screenshot")
            if isinstance(shot, dict) and isinstance(shot.get("object_key"), str):
                found.add(shot["object_key"])
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _current_objects() -> set[str]:
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=TEST_BUCKET)
    return {entry["Key"] for page in pages for entry in page.get("Contents", [])}


def _check_invariants(label: str) -> None:
    missing = _referenced_keys() - _current_objects()
    assert missing == set(), f"{label}: records point at missing bytes"
    sweep(utcnow() + timedelta(hours=3))
    current = _current_objects()
    assert _referenced_keys() - current == set(), f"{label}: the sweep deleted referenced bytes"
    orphans = {key for key in current if not key.startswith("staging/")} - _referenced_keys()
    assert orphans == set(), f"{label}: bytes outlived the sweep"


def _run(flow: Callable[[], Callable[[], dict[str, Any]]], plan: FaultPlan) -> dict[str, Any] | None:
    global _active
    _fresh_stack()
    request = flow()
    _active = plan
    try:
        return request()
    except Killed:
        return None
    finally:
        _active = None


@pytest.mark.parametrize("flow_name", list(FLOWS))
def test_fault_injection_leaves_no_dangling_record_and_no_orphaned_bytes(
    faults: None, flow_name: str
) -> None:
    flow = FLOWS[flow_name]
    # Given the flow's AWS calls, recorded without faults (and the flow succeeding)
    baseline = FaultPlan()
    response = _run(flow, baseline)
    assert response is not None and response["statusCode"] in (200, 201, 204), response
    _check_invariants(f"{flow_name}, no fault")
    calls = baseline.calls
    assert len(calls) >= 5, calls

    injected = 0
    for index, call in enumerate(calls):
        # When call i fails: the API answers with a detail, never a stack trace
        plan = FaultPlan(index, "error")
        response = _run(flow, plan)
        assert response is not None, f"{flow_name}: {call} error escaped the handler"
        body = response_json(response)
        if response["statusCode"] >= 400:
            assert isinstance(body, dict) and isinstance(body.get("detail"), str), (call, response)
            assert "Traceback" not in json.dumps(body), (call, body)
        _check_invariants(f"{flow_name}: call {index} ({call}) failed")
        # When the function dies right after call i succeeded
        plan = FaultPlan(index, "kill")
        assert _run(flow, plan) is None, f"{flow_name}: {call} kill did not end the request"
        _check_invariants(f"{flow_name}: killed after call {index} ({call})")
        injected += 2
    # Then (every case checked above); the count goes in the README
    print(f"\n{flow_name}: {len(calls)} AWS calls, {injected} faults injected: {', '.join(calls)}")
