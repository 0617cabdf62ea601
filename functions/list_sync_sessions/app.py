"""GET /api/sync/sessions (devices.read): the caller's sync sessions, newest first (`device_id`, `limit`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH
from cloudsaves.models.sync import DEFAULT_SESSION_LIST_LIMIT, MAX_SESSION_LIST_LIMIT, SyncSessionSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.sync import list_sessions, require_device_scope

app = make_app()


@app.get("/api/sync/sessions")
def get_sessions(
    device_id: Annotated[str | None, Query(min_length=1, max_length=MAX_DEVICE_ID_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SESSION_LIST_LIMIT)] = DEFAULT_SESSION_LIST_LIMIT,
) -> list[SyncSessionSchema]:
    principal = authorize(app)
    require_device_scope(principal, Scope.DEVICES_READ, device_id)
    return list_sessions(principal, device_id, limit)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
