"""POST /api/sync/negotiate (assets.read + devices.read): RomM 5.2's sync plan for one device's manifest.

Opens a sync session (IN_PROGRESS) and cancels the device's open ones. Opt-in beyond RomM: `states`,
`transfers` (presigned downloads, upload reservations inline) and `deleted` (tombstones).
"""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.sync import SyncNegotiatePayload, SyncNegotiateResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.sync import negotiate, require_device_scope

app = make_app()


@app.post("/api/sync/negotiate")
def post_negotiate(payload: SyncNegotiatePayload) -> SyncNegotiateResponse:
    principal = authorize(app, Scope.ASSETS_READ)
    require_device_scope(principal, Scope.DEVICES_READ, payload.device_id)
    plan = negotiate(principal, payload)
    metrics.add_metric(name="SyncNegotiations", unit="Count", value=1)
    return plan


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
