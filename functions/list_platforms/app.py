"""GET /api/platforms (platforms.read): the catalog's platforms, RomM's shape (clients check tokens so)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.platforms import PlatformSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.platforms import list_platforms

app = make_app()


@app.get("/api/platforms")
def get_platforms() -> list[PlatformSchema]:
    authorize(app, Scope.PLATFORMS_READ)
    return list_platforms()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
