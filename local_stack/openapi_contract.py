"""What the handlers' type hints cannot tell the OpenAPI generator: every status each route answers,
the `{"detail": ...}` error body, and the multipart and form request bodies.

Keyed by the document's own route keys (`METHOD /path`, path parameters named as in the handlers).
Statuses common to a kind of route are added by rule: 401 and 403 on every authenticated route
(`authorize`), 400 on every route with a request body (a body that is no UTF-8 or no JSON), 422 on
every route (request validation). The table lists the rest, success first.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "ErrorDetail"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
ERROR_COMPONENT: dict[str, Any] = {
    "title": ERROR_SCHEMA,
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "title": "Detail",
            "description": "What went wrong: a message, or a structured reason (e.g. device_exists)",
            "anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array", "items": {}}],
        }
    },
}

DESCRIPTIONS = {
    200: "Successful Response",
    201: "Created",
    204: "No Content",
    302: "Redirect to a presigned S3 URL (files too large for a Lambda response)",
    400: "Bad request",
    401: "Missing or invalid credentials (`WWW-Authenticate: Bearer`)",
    403: "The credentials lack a scope this route needs, or the action is not allowed",
    404: "Not found (another user's private object is reported as not found)",
    409: "Conflict",
    413: "Payload too large",
    422: "Validation Error",
    429: "Too many attempts from this address",
}

_BINARY = {"schema": {"type": "string", "format": "binary"}}
DOWNLOAD = {"application/octet-stream": _BINARY}
IMAGE = {"image/*": _BINARY}
EMPTY: dict[str, Any] = {}


def _list_of(schema: str) -> dict[str, Any]:
    """The lists `cloudsaves.http.list_response` serializes itself (compact, maybe gzipped)."""
    array = {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}}
    return {"application/json": {"schema": array}}


_IDS = {"application/json": {"schema": {"type": "array", "items": {"type": "integer"}}}}

# route key: {status: None (the handler's schema or an error) | response content}
STATUSES: dict[str, dict[int, Any]] = {
    "GET /api/activity": {200: None},
    "POST /api/auth/device/init": {201: None, 400: None, 429: None},
    "POST /api/sync/negotiate": {200: None, 400: None, 404: None, 409: None},
    "GET /api/sync/sessions": {200: None},
    "GET /api/sync/sessions/{session_id}": {200: None, 404: None},
    "POST /api/sync/sessions/{session_id}/complete": {200: None, 400: None, 404: None},
    "POST /api/play-sessions": {201: None, 400: None},
    "GET /api/play-sessions": {200: None},
    "DELETE /api/play-sessions/{session_id}": {204: EMPTY, 404: None},
    "POST /api/auth/device/token": {200: None, 400: None, 429: None},
    "GET /api/auth/device/pending/{user_code}": {200: None, 404: None},
    "POST /api/auth/device/approve": {200: None, 400: None, 404: None},
    "POST /api/auth/device/deny": {200: None, 404: None},
    "DELETE /api/activity/heartbeat": {204: EMPTY},
    "POST /api/activity/heartbeat": {200: None, 404: None},
    "GET /api/activity/rom/{rom_id}": {200: None},
    "POST /api/client-tokens": {201: None, 400: None, 404: None},
    "GET /api/client-tokens": {200: None},
    "GET /api/client-tokens/all": {200: None},
    "POST /api/client-tokens/exchange": {200: None, 403: None, 404: None, 409: None, 429: None},
    "GET /api/client-tokens/pair/{code}/status": {200: None, 404: None},
    "DELETE /api/client-tokens/{id}": {204: EMPTY, 404: None},
    "DELETE /api/client-tokens/{id}/admin": {204: EMPTY, 404: None},
    "POST /api/client-tokens/{id}/pair": {200: None, 404: None},
    "PUT /api/client-tokens/{id}/regenerate": {200: None, 404: None, 409: None},
    "POST /api/devices": {200: None, 201: None, 400: None, 409: None},
    "GET /api/devices": {200: None},
    "DELETE /api/devices/{device_id}": {204: EMPTY, 404: None},
    "GET /api/devices/{device_id}": {200: None, 404: None},
    "PUT /api/devices/{device_id}": {200: None, 404: None},
    "GET /api/heartbeat": {200: None},
    "GET /api/platforms": {200: None},
    "GET /api/platforms/{id}": {200: None, 404: None},
    "GET /api/roms": {200: None},
    "GET /api/roms/{id}": {200: None, 404: None},
    "PUT /api/roms/{id}": {200: None},
    "GET /api/saves": {200: _list_of("SaveSchema"), 400: None, 404: None, 413: None},
    "POST /api/saves": {200: None, 400: None, 404: None, 409: None, 413: None},
    "POST /api/saves/delete": {200: None, 400: None, 404: None, 409: None},
    "GET /api/saves/identifiers": {200: _IDS, 400: None, 413: None},
    "GET /api/saves/summary": {200: None},
    "POST /api/saves/uploads": {201: None, 400: None, 404: None, 409: None},
    "POST /api/saves/uploads/{upload_id}/complete": {200: None, 404: None, 409: None},
    "GET /api/saves/{save_id}": {200: None, 404: None},
    "PUT /api/saves/{save_id}": {200: None, 400: None, 404: None, 409: None, 413: None},
    "GET /api/saves/{save_id}/content": {200: DOWNLOAD, 302: EMPTY, 404: None},
    "POST /api/saves/{save_id}/download-url": {200: None, 404: None},
    "POST /api/saves/{save_id}/downloaded": {200: None, 404: None},
    "GET /api/saves/{save_id}/screenshot": {200: DOWNLOAD, 302: EMPTY, 404: None},
    "POST /api/saves/{save_id}/track": {200: None, 404: None},
    "POST /api/saves/{save_id}/untrack": {200: None, 404: None},
    "PUT /api/saves/{save_id}/visibility": {200: None, 404: None},
    "POST /api/screenshots": {200: None, 400: None, 404: None, 409: None, 413: None},
    "DELETE /api/screenshots/{id}": {200: EMPTY, 404: None},
    "PUT /api/screenshots/{id}": {200: None, 404: None},
    "GET /api/screenshots/{id}/content": {200: IMAGE, 404: None},
    "GET /api/states": {200: _list_of("StateSchema"), 400: None, 413: None},
    "POST /api/states": {200: None, 400: None, 404: None, 409: None, 413: None},
    "POST /api/states/delete": {200: None, 400: None, 404: None, 409: None},
    "GET /api/states/identifiers": {200: _IDS, 400: None, 413: None},
    "POST /api/states/uploads": {201: None, 400: None, 404: None, 409: None},
    "POST /api/states/uploads/{upload_id}/complete": {200: None, 404: None, 409: None},
    "GET /api/states/{state_id}": {200: None, 404: None},
    "PUT /api/states/{state_id}": {200: None, 400: None, 404: None, 409: None, 413: None},
    "GET /api/states/{state_id}/content": {200: DOWNLOAD, 302: EMPTY, 404: None},
    "POST /api/states/{state_id}/download-url": {200: None, 404: None},
    "GET /api/states/{state_id}/screenshot": {200: DOWNLOAD, 302: EMPTY, 404: None},
    "PUT /api/states/{state_id}/visibility": {200: None, 404: None},
    "POST /api/token": {200: None, 400: None, 401: None, 403: None},
    "POST /api/users": {201: None, 409: None},
    "GET /api/users/me": {200: None, 404: None},
    "GET /openapi.json": {200: {"application/json": {"schema": {"type": "object"}}}},
}

_FILE = {"type": "string", "format": "binary"}


def _multipart(required: list[str], *parts: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {part: _FILE for part in parts}, "required": required}
    return {"required": bool(required), "content": {"multipart/form-data": {"schema": schema}}}


_TOKEN_FORM = {
    "type": "object",
    "properties": {
        "grant_type": {"type": "string", "enum": ["password", "refresh_token"], "default": "password"},
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "scope": {"type": "string", "description": "space-separated scopes; all of the role's when omitted"},
        "refresh_token": {"type": "string"},
    },
}

REQUEST_BODIES: dict[str, dict[str, Any]] = {
    "POST /api/saves": _multipart(["saveFile"], "saveFile", "screenshotFile"),
    "PUT /api/saves/{save_id}": _multipart([], "saveFile", "screenshotFile"),
    "POST /api/states": _multipart(["stateFile"], "stateFile", "screenshotFile"),
    "PUT /api/states/{state_id}": _multipart([], "stateFile", "screenshotFile"),
    "POST /api/screenshots": _multipart(["screenshotFile"], "screenshotFile"),
    "POST /api/token": {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": _TOKEN_FORM}},
    },
}


def complete_operation(route_key: str, operation: dict[str, Any], *, public: bool) -> None:
    """Give the operation every status the route answers, with the error body, and its request body."""
    declared = operation.get("responses", {})
    generated = [status for status in declared if status.startswith("2")]
    generated_success = declared.pop(generated[0]) if generated else None
    statuses = dict(STATUSES.get(route_key, {200: None}))  # a route missing here fails a unit test
    if route_key in REQUEST_BODIES or "requestBody" in operation:
        statuses.setdefault(400, None)
    if not public:
        statuses.setdefault(401, None)
        statuses.setdefault(403, None)
    responses: dict[str, Any] = {"422": declared.pop("422")}
    for status, content in sorted(statuses.items()):
        description = DESCRIPTIONS[status]
        if status < 300 and content is None and generated_success is not None:
            responses[str(status)] = {**generated_success, "description": description}
        elif content is not None:
            responses[str(status)] = {"description": description, **({"content": content} if content else {})}
        else:
            responses[str(status)] = {
                "description": description,
                "content": {"application/json": {"schema": _ERROR_REF}},
            }
    operation["responses"] = dict(sorted(responses.items()))
    if route_key in REQUEST_BODIES:
        operation["requestBody"] = REQUEST_BODIES[route_key]
