"""GET /api/saves/{id} (assets.read): one of the caller's saves; device_syncs when a device is named."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import SaveSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_reads import get_asset

app = make_app()


@app.get("/api/saves/<save_id>")
def get_save(
    save_id: Annotated[int, Path(gt=0, lt=2**53)],
    device_id: Annotated[str | None, Query(max_length=255)] = None,
) -> SaveSchema:
    principal = authorize(app, Scope.ASSETS_READ)
    return get_asset("save", principal, save_id, device_id=device_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
