"""DELETE /api/activity/heartbeat?device_id= (roms.user.write): the device stopped playing."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.activity import clear_activity

app = make_app()


@app.delete("/api/activity/heartbeat")
def delete_heartbeat(device_id: Annotated[str, Query(min_length=1, max_length=255)]) -> Response[None]:
    principal = authorize(app, Scope.ROMS_USER_WRITE)
    clear_activity(principal, device_id)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
