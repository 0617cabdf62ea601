"""POST /api/play-sessions (roms.user.write): ingest 1-100 play sessions, a result per entry (201)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, json_response, make_app
from cloudsaves.models.play_sessions import PlaySessionIngestPayload, PlaySessionIngestResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.play_sessions import ingest

app = make_app()


@app.post("/api/play-sessions")
def post_play_sessions(payload: PlaySessionIngestPayload) -> Response[PlaySessionIngestResponse]:
    principal = authorize(app, Scope.ROMS_USER_WRITE)
    summary = ingest(principal, payload)
    logger.info(
        "Play sessions ingested", created_count=summary.created_count, skipped_count=summary.skipped_count
    )
    return json_response(201, summary)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
