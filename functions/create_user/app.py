"""POST /api/users (users.write): create a user with a role."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.auth.scopes import Scope
from cloudsaves.http import authorize, json_response, make_app
from cloudsaves.models.users import UserCreate, UserSchema
from cloudsaves.observability import logger, metrics
from cloudsaves.services.users import create_user

app = make_app()


@app.post("/api/users")
def post_user(request: UserCreate) -> Response[UserSchema]:
    authorize(app, Scope.USERS_WRITE)
    user = create_user(request)
    logger.info("User created", extra={"user_id": user.id, "role": user.role})
    return json_response(201, UserSchema.of(user))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
