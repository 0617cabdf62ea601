"""GET /api/screenshots/{id}/content (assets.read): the image; the owner's, anyone's if public, else 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.screenshots import screenshot_content
from cloudsaves.storage import content_disposition

app = make_app()


@app.get("/api/screenshots/<id>/content")
def get_screenshot_content(
    id: Annotated[int, Path(gt=0, lt=2**53)],
    timestamp: Annotated[str | None, Query(max_length=64)] = None,  # download_path's cache buster
):  # no return annotation: Powertools would validate (and mangle) the bytes
    principal = authorize(app, Scope.ASSETS_READ)
    shot = screenshot_content(principal, id)
    headers = {"Content-Disposition": content_disposition(shot.file_name)}
    return Response(status_code=200, content_type=shot.content_type, body=shot.data, headers=headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
