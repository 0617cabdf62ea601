"""POST /api/client-tokens/{id}/pair (me.write): an 8-character code, valid 60 s, for a device to exchange."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.users import ClientTokenPairSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.token_pairing import pair_client_token

app = make_app()


@app.post("/api/client-tokens/<id>/pair")
def post_pair(id: Annotated[int, Path(gt=0, lt=2**53)]) -> ClientTokenPairSchema:
    principal = authorize(app, Scope.ME_WRITE)
    return pair_client_token(principal, id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
