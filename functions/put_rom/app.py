"""PUT /api/roms/{id} (roms.write): upsert a catalog entry under the caller's id (mirrors a RomM library)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.roms import RomSchema, RomUpsert
from cloudsaves.observability import logger, metrics
from cloudsaves.services.roms import upsert_rom

app = make_app()


@app.put("/api/roms/<id>")
def put_rom(id: Annotated[int, Path(gt=0, lt=2**53)], request: RomUpsert) -> RomSchema:
    authorize(app, Scope.ROMS_WRITE)
    return upsert_rom(id, request)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
