"""POST /api/saves/{id}/track (devices.write): `{"device_id"}` re-enables sync tracking on a device."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import DeviceBody, SaveSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.device_syncs import set_tracking

app = make_app()


@app.post("/api/saves/<save_id>/track")
def post_track(save_id: Annotated[int, Path(gt=0, lt=2**53)], request: DeviceBody) -> SaveSchema:
    principal = authorize(app, Scope.DEVICES_WRITE)
    return set_tracking(principal, save_id, request.device_id, untracked=False)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
