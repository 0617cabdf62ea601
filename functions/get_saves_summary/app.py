"""GET /api/saves/summary?rom_id= (assets.read): the caller's saves of one ROM, grouped by slot."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import SaveSummarySchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_reads import saves_summary

app = make_app()


@app.get("/api/saves/summary")
def get_summary(rom_id: Annotated[int, Query(gt=0, lt=2**53)]) -> SaveSummarySchema:
    principal = authorize(app, Scope.ASSETS_READ)
    return saves_summary(principal, rom_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
