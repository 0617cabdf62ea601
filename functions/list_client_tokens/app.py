"""GET /api/client-tokens (me.read): the caller's client tokens, without the raw values."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.users import ClientTokenSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.client_tokens import list_client_tokens

app = make_app()


@app.get("/api/client-tokens")
def get_client_tokens() -> list[ClientTokenSchema]:
    principal = authorize(app, Scope.ME_READ)
    return list_client_tokens(principal)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
