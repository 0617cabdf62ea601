"""POST /api/states (assets.write): RomM's multipart upload (stateFile, screenshotFile)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import StateSchema, UploadParams
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_uploads import upload_from_request

app = make_app()


@app.post("/api/states")
def post_state(
    rom_id: Annotated[int, Query(gt=0, lt=2**53)],
    emulator: Annotated[str | None, Query(max_length=255)] = None,
) -> StateSchema:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return upload_from_request(
        "state", principal, UploadParams(rom_id=rom_id, emulator=emulator), app.current_event
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
