"""One OpenAPI document for the whole API, merged from each function's Powertools resolver.

    python -m local_stack.openapi > docs/openapi.json      (make openapi)

Routes come from template.yaml and schemas from the handlers' own type hints, so the document cannot
drift from what deploys (a test regenerates it and compares).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from local_stack.openapi_contract import ERROR_COMPONENT, ERROR_SCHEMA, complete_operation
from local_stack.template import load_template

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Cloud Saves API"
DESCRIPTION = (
    "RomM-compatible Saves/States API with atomic sync-conflict guards and direct S3 transfers. "
    "Authenticate with `Authorization: Bearer <JWT | rmm_ client token>` or HTTP Basic."
)


def build_document(template_path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cloud-saves")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CloudSaves")
    os.environ.setdefault("TABLE_NAME", "openapi")
    template = load_template(template_path)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    public = {route.route_key for route in template.routes if route.authorizer is None}
    for logical_id in sorted({route.function for route in template.routes}):
        app = _load(template.functions[logical_id].code_dir / "app.py").app
        document = json.loads(app.get_openapi_json_schema(title=TITLE, version="1"))
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                is_public = f"{method.upper()} {path}" in public
                if is_public:
                    operation["security"] = []
                complete_operation(f"{method.upper()} {path}", operation, public=is_public)
            paths.setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
    schemas[ERROR_SCHEMA] = ERROR_COMPONENT
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": "1", "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"bearer": []}, {"basic": []}],
    }


def _load(app_file: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"openapi_{app_file.parent.name}", app_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    json.dump(build_document(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
