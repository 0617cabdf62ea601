"""PUT /api/devices/{device_id} (devices.write): change the fields the body names."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH, DeviceSchema, DeviceUpdatePayload
from cloudsaves.observability import logger, metrics
from cloudsaves.services.devices import update_device

app = make_app()


@app.put("/api/devices/<device_id>")
def put_device(
    device_id: Annotated[str, Path(min_length=1, max_length=MAX_DEVICE_ID_LENGTH)],
    payload: DeviceUpdatePayload,
) -> DeviceSchema:
    principal = authorize(app, Scope.DEVICES_WRITE)
    return update_device(principal.user_id, device_id, payload)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
