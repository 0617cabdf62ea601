"""POST /api/auth/device/init (public, rate-limited per address): a device starts pairing (RFC 8628)."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.http import make_app, source_ip
from cloudsaves.models.device_auth import DeviceAuthInitPayload, DeviceAuthInitResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.device_auth import start_pairing

app = make_app()


@app.post("/api/auth/device/init", status_code=201)
def init_device_auth(payload: DeviceAuthInitPayload) -> DeviceAuthInitResponse:
    started = start_pairing(source_ip(app), payload)
    logger.info(
        "Pairing started", extra={"client": payload.client, "device_code_prefix": started.device_code[:8]}
    )
    return started


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
