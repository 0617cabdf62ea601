"""POST /api/auth/device/token (public, rate-limited per address): the device polls for its token."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.http import make_app, source_ip
from cloudsaves.models.device_auth import DeviceAuthTokenPayload, DeviceAuthTokenResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.device_auth import poll_token

app = make_app()


@app.post("/api/auth/device/token")
def poll_device_auth_token(payload: DeviceAuthTokenPayload) -> DeviceAuthTokenResponse:
    issued = poll_token(source_ip(app), payload)
    logger.info("Pairing token issued", extra={"device_id": issued.device_id})
    return issued


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
