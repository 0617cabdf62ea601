"""The RetroArch Cloud Sync door: OPTIONS, GET, PUT, DELETE, MKCOL, MOVE under /api/cloud-sync/.

RetroArch's WebDAV driver syncs `saves/`, `states/` (and `config/`) here with HTTP Basic. Served by a
Lambda function URL rather than the HTTP API (see README "RetroArch"), so this function checks the
credentials itself; the protocol's rules live in `cloudsaves.services.cloud_sync`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves import webdav
from cloudsaves.auth.scopes import Scope
from cloudsaves.observability import logger, metrics
from cloudsaves.services import cloud_sync

READ, WRITE = Scope.ASSETS_READ, Scope.ASSETS_WRITE


def options(request: webdav.DoorRequest) -> dict[str, Any]:
    request.principal(READ)  # RetroArch's credential check before each sync
    return webdav.response(200, headers={"DAV": "1", "Allow": webdav.ALLOW})


def get(request: webdav.DoorRequest) -> dict[str, Any]:
    data = cloud_sync.read_file(request.principal(READ), request.path)
    return webdav.response(200, data, {"Content-Type": "application/octet-stream"})


def put(request: webdav.DoorRequest) -> dict[str, Any]:
    created = cloud_sync.write_file(request.principal(WRITE), request.path, request.body)
    return webdav.response(201 if created else 204)


def delete(request: webdav.DoorRequest) -> dict[str, Any]:
    cloud_sync.delete_file(request.principal(WRITE), request.path)
    return webdav.response(204)


def mkcol(request: webdav.DoorRequest) -> dict[str, Any]:
    cloud_sync.make_collection(request.principal(WRITE), request.path)
    return webdav.response(201)


def move(request: webdav.DoorRequest) -> dict[str, Any]:
    created = cloud_sync.move_file(request.principal(WRITE), request.path, request.destination)
    return webdav.response(201 if created else 204)


HANDLERS = {"OPTIONS": options, "GET": get, "PUT": put, "DELETE": delete, "MKCOL": mkcol, "MOVE": move}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return webdav.handle(event, HANDLERS)
