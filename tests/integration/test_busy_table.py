"""DynamoDB too busy to write: retried with backoff, then 503 with Retry-After; never a lost race.

A transaction DynamoDB cancels is a conflict only when a condition failed. Cancelled for throttling or
a conflicting transaction, it is retried (botocore does not retry those itself), and what stays busy
answers 503 with nothing half-written: the multipart upload and PUT drop the bytes they stored, a direct
upload's complete releases its claim and keeps the staged bytes, so completing again commits them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from cloudsaves import storage
from cloudsaves.aws import reset_clients, s3_client, table
from cloudsaves.errors import ConcurrentUpdate, ServiceUnavailable
from cloudsaves.hashing import md5_hex
from cloudsaves.models.roms import RomUpsert
from cloudsaves.repositories import dynamo
from cloudsaves.repositories.dynamo import conditional_write
from cloudsaves.services import uploads
from cloudsaves.services.roms import upsert_rom
from tests.conftest import TEST_BUCKET, response_json
from tests.integration import test_assets_handlers as assets
from tests.integration import test_uploads_handlers as direct
from tests.integration.test_assets_handlers import seeded  # noqa: F401 (a fixture)


def _cancelled(*reasons: str) -> dict[str, Any]:
    return {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": reason} for reason in reasons],
    }


THROTTLED_TRANSACTION = _cancelled("ThrottlingError", "None")
ONE_PUT = [{"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}}]


# --- the mapping: conditional_write ---------------------------------------------------------------


def _stubbed_write(error_code: str, **response: Any) -> None:
    """One write through `conditional_write` that DynamoDB answers with `error_code`."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("transact_write_items", service_error_code=error_code, modeled_fields=response)
        with conditional_write():
            client.transact_write_items(TransactItems=ONE_PUT)


@pytest.mark.parametrize(
    "reasons",
    [("None", "ConditionalCheckFailed"), ("ConditionalCheckFailed", "TransactionConflict"), ()],
)
def test_conditional_write_a_failed_condition_is_a_lost_race(reasons: tuple[str, ...]) -> None:
    reasons_field = {"CancellationReasons": [{"Code": r} for r in reasons]} if reasons else {}
    with pytest.raises(ConcurrentUpdate):
        _stubbed_write("TransactionCanceledException", **reasons_field)


@pytest.mark.parametrize(
    "reasons",
    [
        ("ThrottlingError", "None"),
        ("None", "ProvisionedThroughputExceeded"),
        ("RequestLimitExceeded",),
        ("TransactionConflict", "None", "ThrottlingError"),
    ],
)
def test_conditional_write_a_busy_cancellation_is_503_not_a_conflict(reasons: tuple[str, ...]) -> None:
    with pytest.raises(ServiceUnavailable) as raised:
        _stubbed_write("TransactionCanceledException", CancellationReasons=[{"Code": r} for r in reasons])
    assert raised.value.status_code == 503
    assert raised.value.headers == {"Retry-After": "1"}


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
    ],
)
def test_conditional_write_a_throttled_single_write_is_503(code: str) -> None:
    with pytest.raises(ServiceUnavailable):
        _stubbed_write(code)


def test_conditional_write_any_other_failure_stays_an_error() -> None:
    with pytest.raises(ClientError):
        _stubbed_write("TransactionCanceledException", CancellationReasons=[{"Code": "ValidationError"}])
    with pytest.raises(ClientError):
        _stubbed_write("ValidationException")


# --- the retry: botocore's own retry loop, with the hook table() registers -------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def _scripted_table_client(
    monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any] | None]
) -> tuple[Any, list[int], list[float]]:
    """The service's own DynamoDB client, whose wire answers TransactWriteItems from `answers`.

    None answers success. Nothing leaves the process (a `before-send` handler answers every attempt,
    at an address no moto intercepts), and botocore's sleeps between attempts are recorded instead.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    reset_clients()
    client = table().meta.client
    sent: list[int] = []
    slept: list[float] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        error = answers[min(len(sent), len(answers) - 1)]
        sent.append(len(sent))
        if error is None:
            return AWSResponse(request.url, 200, {}, _Body(b"{}"))
        code = error["Error"]["Code"]
        body = {**error, "__type": f"com.amazonaws.dynamodb.v20120810#{code}", "Message": "cancelled"}
        del body["Error"]
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": code}, _Body(json.dumps(body).encode()))

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", answer)
    monkeypatch.setattr("botocore.endpoint.time.sleep", slept.append)
    return client, sent, slept


def test_busy_transaction_is_retried_with_growing_backoff_until_it_goes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, sent, slept = _scripted_table_client(monkeypatch, [THROTTLED_TRANSACTION] * 3 + [None])

    with conditional_write():
        client.transact_write_items(TransactItems=ONE_PUT)

    assert len(sent) == 4
    assert len(slept) == 3
    assert all(0 <= s <= dynamo._BUSY_BASE_SECONDS * 2**i for i, s in enumerate(slept))


def test_transaction_that_stays_busy_is_503_after_bounded_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    client, sent, slept = _scripted_table_client(monkeypatch, [_cancelled("TransactionConflict")])

    with pytest.raises(ServiceUnavailable), conditional_write():
        client.transact_write_items(TransactItems=ONE_PUT)

    assert len(sent) == dynamo.BUSY_ATTEMPTS
    assert sum(slept) < 1.0


def test_failed_condition_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [_cancelled("ConditionalCheckFailed", "ThrottlingError")]
    client, sent, slept = _scripted_table_client(monkeypatch, answers)

    with pytest.raises(ConcurrentUpdate), conditional_write():
        client.transact_write_items(TransactItems=ONE_PUT)

    assert (len(sent), slept) == (1, [])


# --- the routes: nothing half-written, and a direct upload stays completable ------------------------


def _busy_transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every transaction on the service's table ends throttled (what is left after the retries)."""
    client = table().meta.client
    calls: list[int] = []

    def transact(**_: Any) -> Any:
        calls.append(1)
        raise ClientError(THROTTLED_TRANSACTION, "TransactWriteItems")

    monkeypatch.setattr(client, "transact_write_items", transact)
    return calls


def _objects(prefix: str = "") -> list[str]:
    """Current (not deleted) objects outside staging."""
    page = s3_client().list_objects_v2(Bucket=TEST_BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in page.get("Contents", []) if not o["Key"].startswith("staging/"))


@pytest.mark.usefixtures("seeded")
def test_multipart_upload_on_a_busy_table_is_503_and_stores_nothing(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _busy_transactions(monkeypatch)

    response = assets.upload(lambda_context, b"busy", slot="main")

    assert response["statusCode"] == 503, response
    assert response["headers"]["Retry-After"] == "1"
    assert response_json(response) == {"detail": dynamo.BUSY_DETAIL}
    assert len(calls) == 1  # not re-decided as a lost race
    monkeypatch.undo()
    assert response_json(assets.call("list_saves", "GET", "/api/saves", lambda_context)) == []
    assert _objects() == []


@pytest.mark.usefixtures("seeded")
def test_put_on_a_busy_table_is_503_and_changes_nothing(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = response_json(assets.upload(lambda_context, b"one"))
    before = _objects()
    _busy_transactions(monkeypatch)
    body, content_type = assets.multipart({"saveFile": ("x.srm", b"two")})

    response = assets.call(
        "update_save",
        "PUT",
        f"/api/saves/{saved['id']}",
        lambda_context,
        body=body,
        headers={"content-type": content_type},
    )

    assert response["statusCode"] == 503, response
    assert response["headers"]["Retry-After"] == "1"
    monkeypatch.undo()
    assert _objects() == before
    listed = response_json(assets.call("list_saves", "GET", "/api/saves", lambda_context))
    assert [(s["id"], s["content_hash"]) for s in listed] == [(saved["id"], md5_hex(b"one"))]


@pytest.fixture
def direct_rom(aws: None) -> None:
    fields = {"fs_name": "zelda.sfc", "platform_id": 7, "platform_slug": "snes", "platform_fs_slug": "snes"}
    upsert_rom(direct.ROM_ID, RomUpsert(name="Zelda", **fields))


@pytest.mark.usefixtures("direct_rom")
def test_complete_on_a_busy_table_is_503_and_the_upload_stays_completable(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, created = direct._reserve(lambda_context, "save", direct.SAVE, slot="main")
    direct._put(created["save"], direct.SAVE)
    staging_key = direct._staging_key(created["save"])
    _busy_transactions(monkeypatch)

    status, body = direct._complete(lambda_context, "save", created["upload_id"])

    assert (status, body) == (503, {"detail": dynamo.BUSY_DETAIL})
    monkeypatch.undo()
    reservation = uploads.uploads_repository().get(created["upload_id"])
    assert reservation is not None and (reservation.status, reservation.claim_token) == ("pending", None)
    assert storage.get_object(staging_key) == direct.SAVE  # the staged bytes stay
    assert _objects() == []  # the final copy it made is gone again

    status, save = direct._complete(lambda_context, "save", created["upload_id"])

    assert status == 200, save
    assert direct._stored_bytes("save", save["id"]) == direct.SAVE
    assert [s["id"] for s in direct._listed(lambda_context, "save")] == [save["id"]]


@pytest.mark.usefixtures("seeded")
def test_a_busy_table_after_the_commit_still_answers_the_stored_upload(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cleanup = {"slot": "main", "autocleanup": "true", "autocleanup_limit": "1"}
    stored = assets.upload(lambda_context, b"one", **cleanup)
    first = response_json(stored)
    client = table().meta.client

    def busy_delete(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "busy"}}, "DeleteItem"
        )

    monkeypatch.setattr(client, "delete_item", busy_delete)  # autocleanup's delete, after the commit

    response = assets.upload(lambda_context, b"two", **cleanup)

    # stored, so answered as stored: a 503 would make the client upload it again
    assert response["statusCode"] == stored["statusCode"] == 200, response
    monkeypatch.undo()
    listed = response_json(assets.call("list_saves", "GET", "/api/saves", lambda_context))
    assert [s["id"] for s in listed] == [response_json(response)["id"], first["id"]]  # cleanup left for later
