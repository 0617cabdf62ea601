"""DynamoDB helpers shared by the repositories: error mapping, decoding, paging cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from cloudsaves.errors import BadRequest, ConcurrentUpdate

_LOST_RACE = {"ConditionalCheckFailedException", "TransactionCanceledException"}


@contextmanager
def conditional_write() -> Iterator[None]:
    """Turn a failed condition (or a cancelled transaction) into ConcurrentUpdate, in one place."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _LOST_RACE:
            raise ConcurrentUpdate(exc.response["Error"].get("Message", "")) from exc
        raise


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return {plain(v) for v in value}
    return value


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(plain(last_evaluated_key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, expected_keys: set[str]) -> dict[str, Any] | None:
    """A client's cursor back into an ExclusiveStartKey; anything malformed is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise BadRequest("Invalid cursor") from exc
    if (
        not isinstance(key, dict)
        or set(key) != expected_keys
        or not all(isinstance(v, str | int) for v in key.values())
    ):
        raise BadRequest("Invalid cursor")
    return key


def query_all(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every page of a Query whose result is small by design (a user's tokens or devices)."""
    items: list[dict[str, Any]] = []
    while True:
        page = table.query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
