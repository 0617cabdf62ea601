"""POST /api/auth/device/approve (me.write): pair the device and mint its device-bound client token."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.device_auth import DeviceAuthApprovePayload, DeviceAuthApproveResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.device_auth import approve_pairing

app = make_app()


@app.post("/api/auth/device/approve")
def approve_device_auth(payload: DeviceAuthApprovePayload) -> DeviceAuthApproveResponse:
    principal = authorize(app, Scope.ME_WRITE)
    approved = approve_pairing(principal, payload)
    logger.info("Pairing approved", extra={"user_id": principal.user_id, "device_id": approved.device_id})
    metrics.add_metric(name="DevicesPaired", unit=MetricUnit.Count, value=1)
    return approved


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
