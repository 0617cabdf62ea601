"""GET /api/client-tokens/pair/{code}/status (public): 200 while the code is pending, else 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.errors import NotFound
from cloudsaves.http import make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.token_pairing import pair_code_is_pending

app = make_app(public=True)


@app.get("/api/client-tokens/pair/<code>/status")
def get_status(code: Annotated[str, Path(max_length=64)]) -> None:
    if not pair_code_is_pending(code):
        raise NotFound("Not Found")  # RomM's bare 404


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
