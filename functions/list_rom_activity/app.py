"""GET /api/activity/rom/{rom_id} (roms.user.read): the caller's live sessions of one ROM."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.activity import ActivityEntrySchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.activity import list_activity

app = make_app()


@app.get("/api/activity/rom/<rom_id>")
def get_rom_activity(rom_id: Annotated[int, Path(gt=0, lt=2**53)]) -> list[ActivityEntrySchema]:
    principal = authorize(app, Scope.ROMS_USER_READ)
    return list_activity(principal, rom_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
