"""GET /openapi.json (public): the generated contract, shipped in the layer (no repo read at runtime)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.http import make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.openapi_document import openapi_json

app = make_app(public=True)


@app.get("/openapi.json", compress=True)
def get_openapi():  # no return annotation: the body is the document's text, served as is
    return Response(status_code=200, content_type="application/json", body=openapi_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
