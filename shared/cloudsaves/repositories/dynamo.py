"""DynamoDB helpers shared by the repositories: error mapping, decoding, paging cursors."""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from cloudsaves.errors import BadRequest, ConcurrentUpdate, ServiceUnavailable

# Codes DynamoDB answers when it is too busy for a request right now; a retry may succeed.
_BUSY_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
}
# A transaction's cancellation reasons (one per action, "None" for an action that was fine).
_BUSY_REASONS = {
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TransactionConflict",
}
# botocore's own handler retries the throttled codes; these two it leaves alone.
_RETRIED_HERE = {"TransactionCanceledException", "TransactionConflictException"}
# Retries of a transaction DynamoDB cancelled only for being busy (botocore retries throttled single
# calls itself, but not these): jittered, doubling from 50 ms, under a second in all.
BUSY_ATTEMPTS = 5
_BUSY_BASE_SECONDS = 0.05
BUSY_DETAIL = "The service is busy; retry shortly"
_BATCH_GET_LIMIT = 100
_BATCH_WRITE_LIMIT = 25
_UNPROCESSED_ATTEMPTS = 8


@contextmanager
def conditional_write() -> Iterator[None]:
    """Map a write's failure in one place: a failed condition is ConcurrentUpdate (a lost race);
    DynamoDB being busy (throttled, or a transaction cancelled only for that) is ServiceUnavailable (503)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            raise ConcurrentUpdate(exc.response["Error"].get("Message", "")) from exc
        if code == "TransactionCanceledException":
            reasons = cancellation_reasons(exc.response)
            if not reasons or "ConditionalCheckFailed" in reasons:
                raise ConcurrentUpdate(exc.response["Error"].get("Message", "")) from exc
        if is_busy(exc.response):
            raise ServiceUnavailable(BUSY_DETAIL) from exc
        raise


def cancellation_reasons(response: dict[str, Any]) -> list[str]:
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons") or []]


def is_busy(response: dict[str, Any]) -> bool:
    """True when DynamoDB refused the request only for being busy: the same request may succeed later."""
    code = response.get("Error", {}).get("Code")
    if code in _BUSY_CODES:
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = [r for r in cancellation_reasons(response) if r != "None"]
    return bool(reasons) and all(r in _BUSY_REASONS for r in reasons)


def retry_busy_transaction(response: Any, attempts: int, **_: Any) -> float | None:
    """botocore `needs-retry` hook: seconds to wait before retrying a busy-cancelled transaction."""
    if response is None or attempts >= BUSY_ATTEMPTS:
        return None
    parsed = response[1]
    if parsed.get("Error", {}).get("Code") not in _RETRIED_HERE or not is_busy(parsed):
        return None
    return random.uniform(0, _BUSY_BASE_SECONDS * 2 ** (attempts - 1))


def parse_item_reads(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore `before-parse` hook for reads of many items: a successful answer read straight from its JSON.

    botocore walks every attribute value through the AttributeValue shape: for a page of 100 saves that
    is 9-18 ms of a list's time, against 1-2 ms here. DynamoDB's JSON already has the parsed shape; only
    binary values differ (base64 in JSON, bytes parsed), so an object hook decodes those. botocore then
    parses an empty body (only the response metadata from the headers) and takes this result."""
    content_type = response_dict["headers"].get("content-type", "")
    if response_dict["status_code"] != 200 or not content_type.startswith("application/x-amz-json"):
        return  # errors, and (should botocore switch protocols) anything not JSON, are botocore's
    customized_response_dict.update(json.loads(response_dict["body"], object_hook=_binary_values))
    response_dict["body"] = b"{}"


def _binary_values(value: dict[str, Any]) -> dict[str, Any]:
    """An AttributeValue `{"B": base64}` or `{"BS": [base64]}` as bytes; any other object as it is (an
    attribute named B or BS holds an object, never a string or a list)."""
    if len(value) == 1:
        if isinstance(binary := value.get("B"), str):
            return {"B": base64.b64decode(binary)}
        if isinstance(binaries := value.get("BS"), list):
            return {"BS": [base64.b64decode(b) for b in binaries]}
    return value


def batch_get(table: Any, item_keys: Sequence[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    """The items of `item_keys` that exist (BatchGetItem, 100 keys a call; `options` such as
    ProjectionExpression or ConsistentRead apply to every call), asking again for what DynamoDB left
    unprocessed (throttled) with backoff."""
    client = table.meta.client
    items: list[dict[str, Any]] = []
    for start in range(0, len(item_keys), _BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table.name: {"Keys": list(item_keys[start : start + _BATCH_GET_LIMIT]), **options}
        }
        for attempt in range(_UNPROCESSED_ATTEMPTS):
            response = client.batch_get_item(RequestItems=request)
            items.extend(response.get("Responses", {}).get(table.name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled keys: back off and ask again
        else:
            raise RuntimeError("BatchGetItem kept returning unprocessed keys")
    return items


def batch_write(table: Any, requests: Sequence[dict[str, Any]]) -> None:
    """BatchWriteItem `requests` (PutRequest / DeleteRequest), 25 a call, sending what DynamoDB left
    unprocessed (throttled) again with backoff."""
    client = table.meta.client
    for start in range(0, len(requests), _BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table.name: list(requests[start : start + _BATCH_WRITE_LIMIT])}
        for attempt in range(_UNPROCESSED_ATTEMPTS):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off and send the rest again
        else:
            raise RuntimeError("BatchWriteItem kept returning unprocessed items")


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
