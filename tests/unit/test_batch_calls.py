"""dynamo.batch_write and batch_get: 25 requests a BatchWriteItem, 100 keys a BatchGetItem, and what
DynamoDB leaves unprocessed (throttled) sent again."""

from __future__ import annotations

from typing import Any

import pytest

from cloudsaves.repositories import dynamo


class _Client:
    def __init__(self, unprocessed_rounds: int) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._unprocessed_rounds = unprocessed_rounds

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        requests = RequestItems["t"]
        self.calls.append(requests)
        if self._unprocessed_rounds:
            self._unprocessed_rounds -= 1
            return {"UnprocessedItems": {"t": requests[-1:]}}  # the last one throttled
        return {}


class _GetClient:
    def __init__(self, unprocessed_rounds: int) -> None:
        self.calls: list[dict[str, Any]] = []
        self._unprocessed_rounds = unprocessed_rounds

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        request = RequestItems["t"]
        self.calls.append(request)
        found = [{"pk": key["pk"], "found": True} for key in request["Keys"][:-1]]
        if self._unprocessed_rounds:
            self._unprocessed_rounds -= 1
            return {
                "Responses": {"t": found},
                "UnprocessedKeys": {"t": {**request, "Keys": request["Keys"][-1:]}},
            }
        return {"Responses": {"t": [*found, {"pk": request["Keys"][-1]["pk"], "found": True}]}}


class _Table:
    name = "t"

    def __init__(self, client: Any) -> None:
        self.meta = type("Meta", (), {"client": client})()


def test_batch_write_sends_25_a_call_and_resends_the_unprocessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda seconds: None)
    client = _Client(unprocessed_rounds=2)
    requests = [{"DeleteRequest": {"Key": {"pk": str(n)}}} for n in range(60)]

    dynamo.batch_write(_Table(client), requests)

    assert [len(call) for call in client.calls] == [25, 1, 1, 25, 10]
    assert client.calls[1] == client.calls[2] == [requests[24]]
    sent = [r for call in client.calls for r in call]
    assert len(sent) == 62 and sent.count(requests[24]) == 3 and all(r in sent for r in requests)


def test_batch_write_gives_up_on_items_that_stay_unprocessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda seconds: None)

    with pytest.raises(RuntimeError, match="kept returning unprocessed items"):
        dynamo.batch_write(_Table(_Client(unprocessed_rounds=100)), [{"PutRequest": {"Item": {}}}])


def test_batch_get_asks_100_keys_a_call_with_its_options_and_again_for_the_unprocessed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda seconds: None)
    client = _GetClient(unprocessed_rounds=1)
    item_keys = [{"pk": str(n)} for n in range(150)]

    items = dynamo.batch_get(_Table(client), item_keys, ConsistentRead=True)

    assert [len(call["Keys"]) for call in client.calls] == [100, 1, 50]
    assert all(call["ConsistentRead"] is True for call in client.calls)
    assert sorted(item["pk"] for item in items) == sorted(key["pk"] for key in item_keys)


def test_batch_get_gives_up_on_keys_that_stay_unprocessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda seconds: None)

    with pytest.raises(RuntimeError, match="kept returning unprocessed keys"):
        dynamo.batch_get(_Table(_GetClient(unprocessed_rounds=100)), [{"pk": "a"}])
