"""GET /api/activity (roms.user.read): what the caller's devices are playing now."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.activity import ActivityEntrySchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.activity import list_activity

app = make_app()


@app.get("/api/activity")
def get_activity() -> list[ActivityEntrySchema]:
    principal = authorize(app, Scope.ROMS_USER_READ)
    return list_activity(principal)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
