"""Fixed-window request counters in DynamoDB: one item per limit, source address and window."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import conditional_write

_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


class RateLimitsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def count_request(
        self, limit: str, address: str, window_start: int, max_requests: int, expires_at: int
    ) -> bool:
        """Count one request in its window: false (and nothing counted) once the window is full."""
        try:
            with conditional_write():
                self._table.update_item(
                    Key={"pk": keys.rate_limit_pk(limit, address, window_start), "sk": keys.PROFILE},
                    UpdateExpression="ADD requests :one SET expires_at_epoch = :expires",
                    ConditionExpression="attribute_not_exists(requests) OR requests < :max",
                    ExpressionAttributeValues={":one": 1, ":max": max_requests, ":expires": expires_at},
                )
        except ConcurrentUpdate:
            return False
        except ClientError as exc:
            # Only a flood from one address throttles its own counter item: that caller is over any limit.
            if exc.response["Error"]["Code"] in _THROTTLED:
                return False
            raise
        return True
