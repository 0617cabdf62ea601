"""GET /api/devices (devices.read): the caller's devices."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.devices import DeviceSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.devices import list_devices

app = make_app()


@app.get("/api/devices")
def get_devices() -> list[DeviceSchema]:
    principal = authorize(app, Scope.DEVICES_READ)
    return list_devices(principal.user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
