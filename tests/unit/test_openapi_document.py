"""docs/openapi.json is generated from the handlers; it must match what they declare now."""

from __future__ import annotations

import functools
import json

from local_stack.openapi import build_document
from local_stack.openapi_contract import STATUSES
from local_stack.template import load_template
from tests.conftest import ROOT


@functools.cache
def generated() -> dict:
    """Built once per test process: it loads every function's app.py."""
    return build_document()


def test_openapi_document_is_up_to_date():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == generated(), "run `make openapi` and commit docs/openapi.json"


def test_openapi_document_served_copy_is_the_committed_one():
    # GET /openapi.json serves the layer's copy: it must be docs/openapi.json byte for byte
    served = (ROOT / "shared" / "cloudsaves" / "openapi.json").read_bytes()
    assert served == (ROOT / "docs" / "openapi.json").read_bytes(), "run `make openapi`"


def test_openapi_contract_lists_the_statuses_of_every_route():
    document = generated()
    operations = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    assert operations - set(STATUSES) == set(), "add the new routes to local_stack/openapi_contract.py"
    assert set(STATUSES) - operations == set()


def test_openapi_errors_are_documented_with_the_detail_body():
    document = generated()
    assert document["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]
    upload = document["paths"]["/api/saves"]["post"]["responses"]
    assert set(upload) == {"200", "400", "401", "403", "404", "409", "413", "422"}
    conflict = upload["409"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/ErrorDetail"}
    exchange = document["paths"]["/api/client-tokens/exchange"]["post"]["responses"]
    assert {"403", "404", "429"} <= set(exchange) and "401" not in exchange  # public
    created = document["paths"]["/api/client-tokens"]["post"]["responses"]
    assert "201" in created and "200" not in created
    assert "content" not in document["paths"]["/api/devices/{device_id}"]["delete"]["responses"]["204"]


def test_openapi_multipart_and_form_bodies_are_declared():
    paths = generated()["paths"]
    upload = paths["/api/saves"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["required"] == ["saveFile"] and upload["properties"]["saveFile"]["format"] == "binary"
    shot = paths["/api/screenshots"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert shot["required"] == ["screenshotFile"]
    form = paths["/api/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert {"grant_type", "username", "password", "scope", "refresh_token"} <= set(
        form["schema"]["properties"]
    )


def test_openapi_document_covers_every_route_once():
    document = generated()
    operations = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    routes = load_template(ROOT / "template.yaml").routes
    assert len(operations) == len(routes)
    public = {
        key
        for key in operations
        if document["paths"][key.split(" ", 1)[1]][key.split(" ")[0].lower()].get("security") == []
    }
    assert public == {
        "GET /api/heartbeat",
        "POST /api/token",
        "POST /api/auth/device/init",
        "POST /api/auth/device/token",
        "GET /openapi.json",
        "GET /api/client-tokens/pair/{code}/status",
        "POST /api/client-tokens/exchange",
    }
