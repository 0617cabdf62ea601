"""GET /api/roms (roms.read): RomM's page shape; clients probe `?limit=1` to check their credentials."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.roms import RomPage
from cloudsaves.observability import logger, metrics
from cloudsaves.services.roms import list_roms

app = make_app()


@app.get("/api/roms")
def get_roms(
    platform_ids: Annotated[list[int] | None, Query()] = None,
    platform_id: Annotated[int | None, Query(gt=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RomPage:
    authorize(app, Scope.ROMS_READ)
    platforms = [*(platform_ids or []), *([platform_id] if platform_id else [])]
    return list_roms(platforms, limit, offset)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
