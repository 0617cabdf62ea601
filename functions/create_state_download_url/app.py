"""POST /api/states/{id}/download-url (assets.read): a presigned GET for any size (others: public only)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.uploads import DownloadUrl
from cloudsaves.observability import logger, metrics
from cloudsaves.services.uploads import create_download_url

app = make_app()


@app.post("/api/states/<state_id>/download-url")
def post_state_download_url(state_id: Annotated[int, Path(gt=0, lt=2**53)]) -> DownloadUrl:
    principal = authorize(app, Scope.ASSETS_READ)
    return create_download_url("state", principal, state_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
