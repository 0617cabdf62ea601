"""POST /api/auth/device/deny (me.write): refuse a pairing request; its device hears access_denied."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.device_auth import DeviceAuthDenyPayload
from cloudsaves.observability import logger, metrics
from cloudsaves.services.device_auth import deny_pairing

app = make_app()


@app.post("/api/auth/device/deny")
def deny_device_auth(payload: DeviceAuthDenyPayload) -> None:
    principal = authorize(app, Scope.ME_WRITE)
    deny_pairing(payload)
    logger.info("Pairing denied", extra={"user_id": principal.user_id})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
