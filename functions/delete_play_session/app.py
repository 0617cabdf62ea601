"""DELETE /api/play-sessions/{session_id} (roms.user.write): one of the caller's play sessions (204)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.play_sessions import delete_session

app = make_app()


@app.delete("/api/play-sessions/<session_id>")
def delete_play_session(session_id: Annotated[int, Path(gt=0, lt=2**53)]) -> Response[None]:
    principal = authorize(app, Scope.ROMS_USER_WRITE)
    delete_session(principal, session_id)
    logger.info("Play session deleted", session_id=session_id)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
