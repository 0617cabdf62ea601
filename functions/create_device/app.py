"""POST /api/devices (devices.write): register a device, or return the one its fingerprint matches."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, json_response, make_app
from cloudsaves.models.devices import DeviceCreatePayload, DeviceCreateResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.devices import register_device

app = make_app()


@app.post("/api/devices")
def post_device(payload: DeviceCreatePayload) -> Response[DeviceCreateResponse]:
    principal = authorize(app, Scope.DEVICES_WRITE)
    created, device = register_device(principal.user_id, payload)
    logger.info("Device registered" if created else "Existing device returned", device_id=device.device_id)
    return json_response(201 if created else 200, device)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
