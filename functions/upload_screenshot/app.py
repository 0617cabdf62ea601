"""POST /api/screenshots?rom_id= (assets.write): a gallery screenshot (multipart screenshotFile), private."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.assets import ScreenshotSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.screenshots import read_screenshot, upload_screenshot

app = make_app()


@app.post("/api/screenshots")
def post_screenshot(rom_id: Annotated[int, Query(gt=0, lt=2**53)]) -> ScreenshotSchema:
    principal = authorize(app, Scope.ASSETS_WRITE)
    return upload_screenshot(principal, rom_id, read_screenshot(app.current_event))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
