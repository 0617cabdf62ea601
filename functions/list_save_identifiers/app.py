"""GET /api/saves/identifiers (assets.read): the ids of the caller's saves (cursor in X-Next-Cursor)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, list_response, make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_reads import list_identifiers

app = make_app()


@app.get("/api/saves/identifiers")
def get_save_identifiers(
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
):  # no return annotation: list_response serializes (schema: local_stack/openapi_contract.py)
    principal = authorize(app, Scope.ASSETS_READ)
    page = list_identifiers("save", principal, limit=limit, cursor=cursor)
    return list_response(app, page.items, page.headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
