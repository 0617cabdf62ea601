"""POST /api/saves/uploads/{upload_id}/complete (assets.write, the uploader only): check and commit."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import SaveSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.uploads import complete_upload

app = make_app()


@app.post("/api/saves/uploads/<upload_id>/complete")
def post_complete_save_upload(
    upload_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> SaveSchema:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return complete_upload("save", principal, upload_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
