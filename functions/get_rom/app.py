"""GET /api/roms/{id} (roms.read)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.roms import RomSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.roms import get_rom

app = make_app()


@app.get("/api/roms/<id>")
def get_one_rom(id: Annotated[int, Path(gt=0, lt=2**53)]) -> RomSchema:
    authorize(app, Scope.ROMS_READ)
    return get_rom(id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
