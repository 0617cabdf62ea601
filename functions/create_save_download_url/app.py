"""POST /api/saves/{id}/download-url (assets.read): a presigned GET for any size, with /content's rules.

Owner: any of theirs; others: public ones only, else 404. With a device and `optimistic`, the owner's
device is recorded as synced; `session_id` counts one sync-session operation (as /content).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.uploads import DownloadUrl
from cloudsaves.observability import logger, metrics
from cloudsaves.services.uploads import create_download_url

app = make_app()


@app.post("/api/saves/<save_id>/download-url")
def post_save_download_url(
    save_id: Annotated[int, Path(gt=0, lt=2**53)],
    device_id: Annotated[str | None, Query(max_length=255)] = None,
    session_id: Annotated[int | None, Query(ge=0, lt=2**53)] = None,
    optimistic: Annotated[bool, Query()] = True,
) -> DownloadUrl:
    principal = authorize(app, Scope.ASSETS_READ)
    return create_download_url(
        "save", principal, save_id, device_id=device_id, session_id=session_id, optimistic=optimistic
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
