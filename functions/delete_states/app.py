"""POST /api/states/delete (assets.write): `{"states": [ids]}` -> the ids; all of them or none (404).

At most 100 ids (one DynamoDB transaction); bytes and screenshots go with the records.
"""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import DeleteStatesRequest
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_changes import delete_assets

app = make_app()


@app.post("/api/states/delete")
def post_delete(request: DeleteStatesRequest) -> list[int]:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return delete_assets("state", principal, request.states)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
