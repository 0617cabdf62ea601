"""GET /api/states/{id}/content (assets.read): the bytes as the file (owner: any; others: public only).

Too big for a Lambda response: a redirect to a short-lived presigned URL instead.
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


@app.get("/api/states/<state_id>/content")
def download_state(
    state_id: Annotated[int, Path(gt=0, lt=2**53)],
    timestamp: Annotated[str | None, Query(max_length=64)] = None,  # download_path's cache buster
):  # no return annotation: Powertools would validate (and mangle) the bytes
    principal = authorize(app, Scope.ASSETS_READ)
    download = download_asset("state", principal, state_id)
    return download.response()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
