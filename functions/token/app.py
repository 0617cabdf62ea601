"""POST /api/token: OAuth2 password and refresh_token grants (form body), RomM's token response."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.http import form_body, make_app
from cloudsaves.models.users import TokenResponse
from cloudsaves.observability import logger, metrics
from cloudsaves.services.auth import grant_token

app = make_app(public=True)


@app.post("/api/token")
def create_token() -> TokenResponse:
    return grant_token(form_body(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
