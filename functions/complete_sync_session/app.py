"""POST /api/sync/sessions/{session_id}/complete (devices.write): close a sync session with the client's
counts, and ingest the play sessions it carries."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.sync import SyncCompletePayload, SyncCompleteResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.sync import complete_session, require_device_scope

app = make_app()


@app.post("/api/sync/sessions/<session_id>/complete")
def post_complete(
    session_id: Annotated[int, Path(gt=0, lt=2**53)], payload: SyncCompletePayload
) -> SyncCompleteResponse:
    principal = authorize(app)
    require_device_scope(principal, Scope.DEVICES_WRITE, None)
    completed = complete_session(principal, session_id, payload)
    logger.info("Sync session completed", session_id=session_id)
    return completed


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
