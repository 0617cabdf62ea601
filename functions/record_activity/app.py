"""POST /api/activity/heartbeat (roms.user.write): a device says what it is playing; its last_seen moves."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.activity import ActivityEntrySchema, DeviceHeartbeatPayload
from cloudsaves.observability import logger, metrics
from cloudsaves.services.activity import record_heartbeat

app = make_app()


@app.post("/api/activity/heartbeat")
def post_heartbeat(payload: DeviceHeartbeatPayload) -> ActivityEntrySchema:
    principal = authorize(app, Scope.ROMS_USER_WRITE)
    return record_heartbeat(principal, payload)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
