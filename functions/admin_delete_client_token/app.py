"""DELETE /api/client-tokens/{id}/admin (users.write): revoke any user's client token."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.client_tokens import admin_delete_client_token

app = make_app()


@app.delete("/api/client-tokens/<id>/admin")
def delete_any_token(id: Annotated[int, Path(gt=0, lt=2**53)]) -> Response[None]:
    authorize(app, Scope.USERS_WRITE)
    admin_delete_client_token(id)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
