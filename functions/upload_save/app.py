"""POST /api/saves (assets.write): RomM's multipart upload (saveFile, screenshotFile), conflict-guarded."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import SaveSchema, UploadParams
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_uploads import upload_from_request

app = make_app()


@app.post("/api/saves")
def post_save(
    rom_id: Annotated[int, Query(gt=0, lt=2**53)],
    emulator: Annotated[str | None, Query(max_length=255)] = None,
    slot: Annotated[str | None, Query(max_length=255)] = None,
    device_id: Annotated[str | None, Query(max_length=255)] = None,
    session_id: Annotated[int | None, Query(ge=0, lt=2**53)] = None,
    overwrite: Annotated[bool, Query()] = False,
    autocleanup: Annotated[bool, Query()] = False,
    autocleanup_limit: Annotated[int, Query(ge=-(2**31), lt=2**31)] = 10,
) -> SaveSchema:
    principal = authorize(app, Scope.ASSETS_WRITE)
    params = UploadParams(
        rom_id=rom_id,
        emulator=emulator,
        slot=slot,
        device_id=device_id,
        session_id=session_id,
        overwrite=overwrite,
        autocleanup=autocleanup,
        autocleanup_limit=autocleanup_limit,
    )
    return upload_from_request("save", principal, params, app.current_event)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
