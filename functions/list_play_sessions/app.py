"""GET /api/play-sessions (roms.user.read): the caller's play sessions, newest start first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH
from cloudsaves.models.play_sessions import DEFAULT_LIST_LIMIT, PlaySessionSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.play_sessions import list_sessions

app = make_app()


@app.get("/api/play-sessions")
def get_play_sessions(
    rom_id: Annotated[int | None, Query(ge=0, lt=2**53)] = None,
    device_id: Annotated[str | None, Query(min_length=1, max_length=MAX_DEVICE_ID_LENGTH)] = None,
    start_after: Annotated[datetime | None, Query()] = None,
    end_before: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = DEFAULT_LIST_LIMIT,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[PlaySessionSchema]:
    principal = authorize(app, Scope.ROMS_USER_READ)
    return list_sessions(
        principal,
        rom_id=rom_id,
        device_id=device_id,
        start_after=start_after,
        end_before=end_before,
        limit=limit,
        offset=offset,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
