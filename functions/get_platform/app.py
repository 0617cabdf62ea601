"""GET /api/platforms/{id} (platforms.read): one platform in RomM's shape, with its ROM count."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.platforms import PlatformSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.platforms import get_platform

app = make_app()


@app.get("/api/platforms/<id>")
def get_one_platform(id: Annotated[int, Path(gt=0, lt=2**53)]) -> PlatformSchema:
    authorize(app, Scope.PLATFORMS_READ)
    return get_platform(id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
