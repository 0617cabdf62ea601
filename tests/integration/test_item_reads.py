"""Query and BatchGetItem answers read straight from DynamoDB's JSON (cloudsaves.repositories.dynamo
.parse_item_reads) must equal what botocore's own parser makes of them, for every attribute type."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from cloudsaves.aws import table
from cloudsaves.repositories.dynamo import parse_item_reads
from tests.conftest import TEST_TABLE

PARTITION = "test#item-reads"
ITEMS: list[dict[str, Any]] = [
    {
        "pk": PARTITION,
        "sk": f"item#{n}",
        "text": "héllo \"quoted\" {'B': 'not binary'}",
        "number": Decimal("124260262082710"),
        "fraction": Decimal("-1.5"),
        "binary": b"\x00\xffbytes",
        "empty_binary": b"",
        "strings": {"a", "b"},
        "numbers": {Decimal(1), Decimal("2.25")},
        "binaries": {b"one", b"\x02"},
        "null": None,
        "flag": True,
        "list": [1, "two", b"3", [None, False], {"nested": b"\x04"}],
        "map": {"B": {"S": "an attribute named B"}, "BS": ["an attribute named BS"], "deep": {"b": b"\x05"}},
        "B": "a top-level attribute named B",
    }
    for n in range(3)
]


@pytest.fixture
def items(aws: None) -> list[dict[str, Any]]:
    for item in ITEMS:
        table().put_item(Item=item)
    return ITEMS


def _botocore_only() -> Any:
    """The same table through a resource of its own: botocore parses every answer itself."""
    return boto3.resource("dynamodb").Table(TEST_TABLE)


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_item_reads_query_answers_what_botocore_parses(items: list[dict[str, Any]]) -> None:
    query = {"KeyConditionExpression": Key("pk").eq(PARTITION), "Limit": 2}

    fast, botocore = table().query(**query), _botocore_only().query(**query)

    assert _without_metadata(fast) == _without_metadata(botocore)
    assert fast["Items"] == items[:2]
    assert fast["LastEvaluatedKey"] == {"pk": PARTITION, "sk": "item#1"}
    assert fast["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_item_reads_batch_get_answers_what_botocore_parses(items: list[dict[str, Any]]) -> None:
    keys = [{"pk": PARTITION, "sk": f"item#{n}"} for n in range(3)]
    request = {TEST_TABLE: {"Keys": keys, "ConsistentRead": True}}

    fast = table().meta.client.batch_get_item(RequestItems=request)
    botocore = _botocore_only().meta.client.batch_get_item(RequestItems=request)

    assert _without_metadata(fast) == _without_metadata(botocore)
    assert sorted(fast["Responses"][TEST_TABLE], key=lambda item: item["sk"]) == items


def test_item_reads_leave_errors_to_botocore(items: list[dict[str, Any]]) -> None:
    query = {"IndexName": "no-such-index", "KeyConditionExpression": Key("pk").eq(PARTITION)}
    errors = []
    for reader in (table(), _botocore_only()):
        with pytest.raises(ClientError) as raised:
            reader.query(**query)
        errors.append(raised.value.response["Error"])

    assert errors[0] == errors[1]
    assert errors[0]["Code"] == "ResourceNotFoundException"


def test_item_reads_leave_an_answer_that_is_not_json_alone() -> None:
    response = {"status_code": 200, "headers": {"content-type": "application/cbor"}, "body": b"\xa0"}
    customized: dict[str, Any] = {}

    parse_item_reads(response_dict=response, customized_response_dict=customized)

    assert customized == {}
    assert response["body"] == b"\xa0"
