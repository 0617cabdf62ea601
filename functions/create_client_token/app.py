"""POST /api/client-tokens (me.write): a long-lived `rmm_` token, shown once."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, json_response, make_app
from cloudsaves.models.users import ClientTokenCreate, ClientTokenCreated
from cloudsaves.observability import logger, metrics
from cloudsaves.services.client_tokens import create_client_token

app = make_app()


@app.post("/api/client-tokens")
def post_client_token(request: ClientTokenCreate) -> Response[ClientTokenCreated]:
    principal = authorize(app, Scope.ME_WRITE)
    return json_response(201, create_client_token(principal, request))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
