"""docs/openapi.json is generated from the handlers; it must match what they declare now."""

from __future__ import annotations

import json

from local_stack.openapi import build_document
from local_stack.template import load_template
from tests.conftest import ROOT


def test_openapi_document_is_up_to_date():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == build_document(), "run `make openapi` and commit docs/openapi.json"


def test_openapi_document_covers_every_route_once():
    document = build_document()
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
    }
