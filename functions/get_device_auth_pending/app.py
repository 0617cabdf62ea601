"""GET /api/auth/device/pending/{user_code} (me.read): the pairing request a user is about to approve."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.device_auth import DeviceAuthPendingSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.device_auth import pending_request

app = make_app()


@app.get("/api/auth/device/pending/<user_code>")
def get_device_auth_pending(user_code: str) -> DeviceAuthPendingSchema:
    principal = authorize(app, Scope.ME_READ)
    return pending_request(principal, user_code)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
