"""GET /api/client-tokens/all (users.read): every user's client tokens, with their owners."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.users import ClientTokenAdminSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.client_tokens import list_all_client_tokens

app = make_app()


@app.get("/api/client-tokens/all")
def get_all_tokens() -> list[ClientTokenAdminSchema]:
    authorize(app, Scope.USERS_READ)
    return list_all_client_tokens()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
