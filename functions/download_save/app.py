"""GET /api/saves/{id}/content (assets.read): the bytes as the file (owner: any; others: public only).

Too big for a Lambda response: a redirect to a short-lived presigned URL instead. With a device and
`optimistic`, the owner's device is recorded as synced; `session_id` counts one sync-session operation.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_downloads import download_asset

app = make_app()


@app.get("/api/saves/<save_id>/content")
def download_save(
    save_id: Annotated[int, Path(gt=0, lt=2**53)],
    device_id: Annotated[str | None, Query(max_length=255)] = None,
    session_id: Annotated[int | None, Query(ge=0, lt=2**53)] = None,
    optimistic: Annotated[bool, Query()] = True,
    timestamp: Annotated[str | None, Query(max_length=64)] = None,  # download_path's cache buster
):  # no return annotation: Powertools would validate (and mangle) the bytes
    principal = authorize(app, Scope.ASSETS_READ)
    download = download_asset(
        "save", principal, save_id, device_id=device_id, session_id=session_id, optimistic=optimistic
    )
    return download.response()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
