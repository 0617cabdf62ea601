"""DELETE /api/devices/{device_id} (devices.write): the device and its sync records."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH
from cloudsaves.observability import logger, metrics
from cloudsaves.services.devices import delete_device

app = make_app()


@app.delete("/api/devices/<device_id>")
def delete_one_device(
    device_id: Annotated[str, Path(min_length=1, max_length=MAX_DEVICE_ID_LENGTH)],
) -> Response[None]:
    principal = authorize(app, Scope.DEVICES_WRITE)
    delete_device(principal.user_id, device_id)
    logger.info("Device deleted", device_id=device_id)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
