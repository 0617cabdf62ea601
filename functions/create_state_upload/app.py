"""POST /api/states/uploads (assets.write): reserve a direct upload; the bytes go straight to S3."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, json_response, make_app
from cloudsaves.models.uploads import StateUploadCreate, StateUploadCreated
from cloudsaves.observability import logger, metrics
from cloudsaves.services.uploads import create_upload

app = make_app()


@app.post("/api/states/uploads")
def post_state_upload(request: StateUploadCreate) -> Response[StateUploadCreated]:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return json_response(201, create_upload("state", principal, request))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
