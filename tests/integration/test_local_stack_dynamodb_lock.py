"""The local stack's moto server keeps DynamoDB conditional writes atomic under concurrent requests."""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local_stack.moto_server import MotoServer

THREADS = 8
INCREMENTS_PER_THREAD = 50
TABLE = "counters"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = MotoServer()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every 0.1 ms, so that without the lock moto's read-check-write races (it loses
    updates), as it does on a loaded machine; at the default 5 ms the race is rarely hit."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(interval)


def _client(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, max_pool_connections=2),
    )


def _increment_many(url: str, wins: list[int], errors: list[BaseException]) -> None:
    client = _client(url)
    current = 0
    try:
        for _ in range(INCREMENTS_PER_THREAD):
            for attempt in itertools.count():
                try:
                    client.update_item(
                        TableName=TABLE,
                        Key={"pk": {"S": "counter"}},
                        UpdateExpression="SET n = :next",
                        ConditionExpression="n = :current",
                        ExpressionAttributeValues={
                            ":current": {"N": str(current)},
                            ":next": {"N": str(current + 1)},
                        },
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                except client.exceptions.ConditionalCheckFailedException as error:
                    # The failure carries the value that won, so retrying needs no extra read.
                    current = int(error.response["Item"]["n"]["N"])
                    # Exponential backoff with jitter: fewer doomed retries, a faster test.
                    time.sleep(random.uniform(0, min(0.2, 0.02 * 2**attempt)))
                    continue
                wins.append(current)
                current += 1
                break
    except BaseException as error:  # surfaced by the test thread
        errors.append(error)


def test_local_stack_dynamodb_conditional_increments_are_atomic(
    moto_url: str, frequent_thread_switches: None
) -> None:
    # Given a counter at 0
    client = _client(moto_url)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=TABLE, Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    wins: list[int] = []
    errors: list[BaseException] = []

    # When 8 threads each win 50 compare-and-set increments
    threads = [
        threading.Thread(target=_increment_many, args=(moto_url, wins, errors)) for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every increment landed once, and no two writers won from the same value
    assert errors == []
    final = client.get_item(TableName=TABLE, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    assert int(final["n"]["N"]) == THREADS * INCREMENTS_PER_THREAD
    assert sorted(wins) == list(range(THREADS * INCREMENTS_PER_THREAD))
    client.delete_table(TableName=TABLE)
