"""GET /api/sync/sessions/{session_id} (devices.read): one of the caller's sync sessions."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.sync import SyncSessionSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.sync import get_session, require_device_scope

app = make_app()


@app.get("/api/sync/sessions/<session_id>")
def get_one_session(session_id: Annotated[int, Path(gt=0, lt=2**53)]) -> SyncSessionSchema:
    principal = authorize(app)
    require_device_scope(principal, Scope.DEVICES_READ, None)
    return get_session(principal, session_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
