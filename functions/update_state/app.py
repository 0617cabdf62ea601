"""PUT /api/states/{id} (assets.write): replace the content (stateFile) and/or screenshot (screenshotFile)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import StateSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.asset_uploads import update_from_request

app = make_app()


@app.put("/api/states/<state_id>")
def put_state(state_id: Annotated[int, Path(gt=0, lt=2**53)]) -> StateSchema:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return update_from_request("state", principal, state_id, app.current_event)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
