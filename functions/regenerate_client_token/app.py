"""PUT /api/client-tokens/{id}/regenerate (me.write): a new raw value; the old one stops working at once."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.users import ClientTokenCreated
from cloudsaves.observability import logger, metrics
from cloudsaves.services.client_tokens import regenerate_own_client_token

app = make_app()


@app.put("/api/client-tokens/<id>/regenerate")
def put_regenerate(id: Annotated[int, Path(gt=0, lt=2**53)]) -> ClientTokenCreated:
    principal = authorize(app, Scope.ME_WRITE)
    return regenerate_own_client_token(principal, id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
