"""PUT /api/saves/{id} (assets.write): replace the content (saveFile) and/or the screenshot (screenshotFile).

With a device named, a save whose content changed since that device's last sync is not overwritten:
409, unless `overwrite=true` (beyond RomM, which overwrites blindly).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import SaveSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_uploads import update_from_request

app = make_app()


@app.put("/api/saves/<save_id>")
def put_save(
    save_id: Annotated[int, Path(gt=0, lt=2**53)],
    device_id: Annotated[str | None, Query(max_length=255)] = None,
    overwrite: Annotated[bool, Query()] = False,
) -> SaveSchema:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return update_from_request(
        "save", principal, save_id, app.current_event, device_id=device_id, overwrite=overwrite
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
