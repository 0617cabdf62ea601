"""GET /api/users/me (me.read): the caller's own profile."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, make_app
from cloudsaves.models.users import CurrentUserSchema, UserSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.users import get_user

app = make_app()


@app.get("/api/users/me")
def get_me() -> CurrentUserSchema:
    principal = authorize(app, Scope.ME_READ)
    profile = UserSchema.of(get_user(principal.username))
    return CurrentUserSchema(**profile.model_dump(), current_device_id=principal.device_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
