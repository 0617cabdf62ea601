"""POST /api/client-tokens/exchange (public, 5 attempts a minute per address): a pairing code for a token."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.http import make_app
from cloudsaves.models.users import ClientTokenCreated, ClientTokenExchange
from cloudsaves.observability import logger, metrics
from cloudsaves.services.token_pairing import exchange_pair_code

app = make_app(public=True)


@app.post("/api/client-tokens/exchange")
def post_exchange(request: ClientTokenExchange) -> ClientTokenCreated:
    source_address = app.current_event.request_context.http.source_ip
    return exchange_pair_code(request.code, source_address)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
