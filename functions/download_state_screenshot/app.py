"""GET /api/states/{id}/screenshot (assets.read): the state's screenshot, named by its `download_path`.

Same access as the state itself: the owner, or anyone when the state is public; otherwise 404.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_downloads import download_screenshot

app = make_app()


@app.get("/api/states/<state_id>/screenshot")
def download_state_screenshot(
    state_id: Annotated[int, Path(gt=0, lt=2**53)],
    timestamp: Annotated[str | None, Query(max_length=64)] = None,  # download_path's cache buster
):  # no return annotation: Powertools would validate (and mangle) the bytes
    principal = authorize(app, Scope.ASSETS_READ)
    return download_screenshot("state", principal, state_id).response()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
