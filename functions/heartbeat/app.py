"""GET /api/heartbeat: public; RomM clients read SYSTEM.VERSION to check the server."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.http import make_app
from cloudsaves.observability import logger, metrics
from cloudsaves.services.heartbeat import heartbeat

app = make_app(public=True)


@app.get("/api/heartbeat")
def get_heartbeat() -> dict:
    return heartbeat()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
