"""HTTP for the RetroArch Cloud Sync door: a Lambda function URL event in, a WebDAV answer out.

What RetroArch needs of the answers (../shared/tools/retroarch/README.md): a 404 has an EMPTY body (it
would write the body into the save), a 401 challenges `Basic` only (its Digest corrupts a PUT answered
401), and nothing redirects (it follows none). Other errors are `{"detail": ...}` like the rest of the API.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cloudsaves.errors import AppError, BadRequest
from cloudsaves.http import Principal
from cloudsaves.observability import logger
from cloudsaves.services.auth import authenticate_basic
from cloudsaves.services.cloud_sync_paths import destination_path, door_path

METHODS = ("OPTIONS", "GET", "PUT", "DELETE", "MKCOL", "MOVE")
ALLOW = ", ".join(METHODS)
CHALLENGE = 'Basic realm="Cloud Saves", charset="UTF-8"'

Handler = Callable[["DoorRequest"], dict[str, Any]]


@dataclass(frozen=True)
class DoorRequest:
    method: str
    path: str  # below /api/cloud-sync/, decoded once and validated ("" for the door itself)
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def principal(self, *scopes: str) -> Principal:
        """The caller (HTTP Basic: password or client token), with the scopes checked: 401 / 403."""
        principal = authenticate_basic(self.headers.get("authorization"))
        principal.require(*scopes)
        return principal

    @property
    def destination(self) -> str:
        return destination_path(self.headers.get("destination"))


def handle(event: dict[str, Any], handlers: Mapping[str, Handler]) -> dict[str, Any]:
    """Parse the request, run the method's handler, map domain errors to the door's answers."""
    try:
        request = parse_request(event)
        handler = handlers.get(request.method)
        if handler is None:
            return response(405, json.dumps({"detail": "Method Not Allowed"}).encode(), {"Allow": ALLOW})
        return handler(request)
    except AppError as exc:
        return error_response(exc)
    except Exception:
        logger.exception("Unhandled error")
        return response(500, json.dumps({"detail": "Internal Server Error"}).encode(), _JSON)


def parse_request(event: dict[str, Any]) -> DoorRequest:
    http = (event.get("requestContext") or {}).get("http") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Malformed request body") from exc
    method = str(http.get("method") or "").upper()
    return DoorRequest(method, door_path(str(event.get("rawPath") or "/")), headers, body)


def response(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A function URL answer; bodies travel base64-encoded, so any byte survives."""
    answer: dict[str, Any] = {"statusCode": status, "headers": dict(headers or {})}
    if body:
        answer["body"] = base64.b64encode(body).decode("ascii")
        answer["isBase64Encoded"] = True
    return answer


def error_response(exc: AppError) -> dict[str, Any]:
    if exc.status_code == 404:
        return response(404)  # empty: RetroArch writes a 404's body into the save it asked for
    headers = dict(_JSON)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    return response(exc.status_code, json.dumps({"detail": exc.detail}).encode(), headers)


_JSON = {"Content-Type": "application/json"}
