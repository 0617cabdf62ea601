"""DELETE /api/screenshots/{id} (assets.write): the record and its bytes; the owner only (else 404)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.screenshots import delete_screenshot

app = make_app()


@app.delete("/api/screenshots/<id>")
def delete_one_screenshot(id: Annotated[int, Path(gt=0, lt=2**53)]) -> Response[None]:
    principal = authorize(app, Scope.ASSETS_WRITE)
    delete_screenshot(principal, id)
    return Response(status_code=200)  # RomM answers an empty 200


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
