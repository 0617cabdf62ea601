"""The catalog's count items under contention: backoff between attempts, then a 503 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloudsaves.repositories import roms as roms_repository
from tests.conftest import response_json
from tests.integration.test_catalog_and_client_tokens import ROM, list_roms, put_rom

CANCELLED = ClientError(
    {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
    },
    "TransactWriteItems",
)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(roms_repository.time, "sleep", slept.append)
    return slept


def _contend(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[int]:
    """Make the next `failures` catalog transactions lose to another writer; returns the attempt log."""
    from cloudsaves.aws import table

    client = table().meta.client
    real = client.transact_write_items
    attempts: list[int] = []

    def transact(**kwargs: Any) -> Any:
        attempts.append(len(attempts))
        if len(attempts) <= failures:
            raise CANCELLED
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", transact)
    return attempts


def test_catalog_contention_that_clears_is_retried_with_growing_backoff(
    aws, lambda_context, monkeypatch, sleeps
):
    # Given two lost races before the upsert goes through
    attempts = _contend(monkeypatch, failures=2)

    response = put_rom(lambda_context, 5, ROM)

    # Then it succeeds on the third attempt, after two waits that grow, and the count moved once
    assert response["statusCode"] == 200
    assert len(attempts) == 3
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2
    assert response_json(list_roms(lambda_context, {"limit": "1"}))["total"] == 1


def test_catalog_contention_that_lasts_is_a_503_with_retry_after(aws, lambda_context, monkeypatch, sleeps):
    # Given a catalog whose count item never stops changing
    attempts = _contend(monkeypatch, failures=1000)

    response = put_rom(lambda_context, 5, ROM)

    # Then the caller is told to come back (not a 500), after a bounded wait, and nothing was written
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert response_json(response) == {"detail": "The ROM catalog is busy with other writes; retry shortly"}
    assert len(attempts) == roms_repository._UPSERT_ATTEMPTS
    assert len(sleeps) == len(attempts) - 1 and sum(sleeps) <= 2.5
    monkeypatch.undo()
    assert response_json(list_roms(lambda_context, {"limit": "1"}))["total"] == 0
