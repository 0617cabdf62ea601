"""Lambda REQUEST authorizer (payload 2.0, simple responses).

It always allows and passes the verdict on: a denying HTTP API authorizer makes API Gateway answer 403,
while RomM clients expect 401 for bad credentials. Each function then enforces its own scopes.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.observability import logger
from cloudsaves.services.auth import authorizer_context


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    header = (event.get("headers") or {}).get("authorization", "")
    return {"isAuthorized": True, "context": authorizer_context(header)}
