"""GET /api/devices/{device_id} (devices.read): one of the caller's devices."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH, DeviceSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.devices import get_device

app = make_app()


@app.get("/api/devices/<device_id>")
def get_one_device(
    device_id: Annotated[str, Path(min_length=1, max_length=MAX_DEVICE_ID_LENGTH)],
) -> DeviceSchema:
    principal = authorize(app, Scope.DEVICES_READ)
    return get_device(principal.user_id, device_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
