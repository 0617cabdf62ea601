"""The local stack's moto server: its changes to moto answer as moto (and DynamoDB) do, and its data
directory brings back every item and object version after a restart."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.moto_server import MotoServer
from local_stack.persistence import DataStore

REGION = "us-east-1"
TABLE = "patched"
BUCKET = "patched-bucket"


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"}),
    )


def _create(dynamodb: Any, s3: Any) -> None:
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path) -> Iterator[MotoServer]:
    server = MotoServer(store=DataStore(data_dir, REGION))
    url = server.start()
    _create(_client("dynamodb", url), _client("s3", url))
    yield server
    server.stop()
    server.reset()


def _restart(server: MotoServer, data_dir: Path) -> tuple[MotoServer, tuple[int, int]]:
    """Stop, forget everything moto holds, start again on the same data directory."""
    server.stop()
    server.reset()
    store = DataStore(data_dir, REGION)
    again = MotoServer(store=store)
    url = again.start()
    _create(_client("dynamodb", url), _client("s3", url))
    return again, store.restore()


def _table(server: MotoServer) -> Any:
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return session.resource("dynamodb", endpoint_url=server.url).Table(TABLE)


EVERY_TYPE = {
    "pk": "every",
    "sk": "type",
    "gsi1pk": "G",
    "gsi1sk": "1",
    "s": "text ✓",
    "n": Decimal("12.5"),
    "b": b"\x00\xffbytes",
    "ss": {"a", "b"},
    "ns": {Decimal(1), Decimal(2)},
    "bs": {b"x", b"y"},
    "m": {"nested": {"deep": [Decimal(1), "two", None, True, b"z"]}},
    "l": [{"k": "v"}, [Decimal(3)]],
    "null": None,
    "bool": False,
}
EVERY_TYPE_NAMES = list(EVERY_TYPE)


def test_items_of_every_type_come_back_as_written_from_get_and_query(server: MotoServer) -> None:
    table = _table(server)
    table.put_item(Item=EVERY_TYPE)
    got = table.get_item(Key={"pk": "every", "sk": "type"})["Item"]
    by_table = table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "every"})
    by_index = table.query(
        IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", ExpressionAttributeValues={":g": "G"}
    )
    for item in (got, by_table["Items"][0], by_index["Items"][0]):
        assert {k: (v.value if hasattr(v, "value") else v) for k, v in item.items()} == {
            k: v for k, v in EVERY_TYPE.items()
        } | {
            "b": b"\x00\xffbytes",
            "bs": {b"x", b"y"},
            "m": {"nested": {"deep": [1, "two", None, True, b"z"]}},
        }


def test_attribute_sizes_are_motos_own(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The faster size (what a query's 1 MB page limit and every write's 400 KB check count) answers
    what moto's own would, for every type and nesting."""
    from boto3.dynamodb.types import TypeSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType

    from local_stack import moto_patches

    wire = TypeSerializer().serialize
    values = [DynamoType(wire(value)) for value in EVERY_TYPE.values()]
    values.append(DynamoType(wire({"syncs": {"device": {"synced_at": "2026", "hash": "ab" * 16, "n": 7}}})))
    fast = [value.size() for value in values]
    monkeypatch.setattr(DynamoType, "size", moto_patches._moto_size)
    assert fast == [value.size() for value in values]
    assert fast[EVERY_TYPE_NAMES.index("s")] == len("text ✓".encode())


def test_projections_answer_only_the_named_attributes(server: MotoServer) -> None:
    table = _table(server)
    table.put_item(Item=EVERY_TYPE)
    query = {"KeyConditionExpression": "gsi1pk = :g", "ExpressionAttributeValues": {":g": "G"}}
    names = {"ExpressionAttributeNames": {"#m": "m"}}
    top = table.query(IndexName="gsi1", ProjectionExpression="#m, s, bs", **names, **query)["Items"]
    nested = table.query(IndexName="gsi1", ProjectionExpression="m.nested, s", **query)["Items"]
    assert top == [{"m": EVERY_TYPE["m"], "s": EVERY_TYPE["s"], "bs": {b"x", b"y"}}]
    assert nested == [{"m": EVERY_TYPE["m"], "s": EVERY_TYPE["s"]}]
    assert table.get_item(Key={"pk": "every", "sk": "type"})["Item"]["l"] == [{"k": "v"}, [3]]


def test_queries_read_one_partition_in_order_and_page_through_it(server: MotoServer) -> None:
    table = _table(server)
    for pk in ("a", "b"):
        for n in range(5):
            table.put_item(Item={"pk": pk, "sk": f"{n:02}", "gsi1pk": f"G{pk}", "gsi1sk": f"{9 - n}"})
    first = table.query(
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": "b"},
        Limit=3,
        ScanIndexForward=False,
    )
    rest = table.query(
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": "b"},
        ScanIndexForward=False,
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["sk"] for i in first["Items"] + rest["Items"]] == ["04", "03", "02", "01", "00"]
    assert all(i["pk"] == "b" for i in first["Items"] + rest["Items"])
    assert (
        table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "none"})["Items"] == []
    )
    by_index = table.query(
        IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", ExpressionAttributeValues={":g": "Ga"}
    )
    assert [i["sk"] for i in by_index["Items"]] == ["04", "03", "02", "01", "00"]


def test_index_queries_answer_only_their_partition_in_order_and_page_through_it(server: MotoServer) -> None:
    table = _table(server)
    for n in range(30):  # three index partitions, interleaved; every fourth item not in the index
        item = {"pk": f"item{n:02}", "sk": "x", "n": n}
        if n % 4:
            item |= {"gsi1pk": f"G{n % 3}", "gsi1sk": f"{n % 5}"}
        table.put_item(Item=item)
    wanted = sorted(
        (f"{n % 5}", f"item{n:02}") for n in range(30) if n % 4 and n % 3 == 1
    )  # the index's range key, then the table's key

    pages, start = [], {}
    while True:
        page = table.query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g",
            ExpressionAttributeValues={":g": "G1"},
            Limit=4,
            **start,
        )
        pages.append(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    descending = table.query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :g AND gsi1sk > :s",
        FilterExpression="n > :n",
        ExpressionAttributeValues={":g": "G1", ":s": "1", ":n": 10},
        ScanIndexForward=False,
    )["Items"]

    assert [(i["gsi1sk"], i["pk"]) for page in pages for i in page] == wanted
    assert len(pages) == 2 and all(i["gsi1pk"] == "G1" for page in pages for i in page)
    assert [(i["gsi1sk"], i["pk"]) for i in descending] == [
        (sk, pk) for sk, pk in reversed(wanted) if sk > "1" and int(pk[4:]) > 10
    ]


def test_a_cancelled_transaction_leaves_every_item_it_touched_as_it_was(server: MotoServer) -> None:
    table = _table(server)
    client = _client("dynamodb", server.url)
    table.put_item(Item={"pk": "kept", "sk": "1", "n": 1})
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "kept"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "absent"}, "sk": {"S": "1"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert table.get_item(Key={"pk": "kept", "sk": "1"})["Item"]["n"] == 1
    assert "Item" not in table.get_item(Key={"pk": "new", "sk": "1"})


def test_a_transaction_naming_one_item_twice_is_refused_and_changes_nothing(server: MotoServer) -> None:
    table = _table(server)
    client = _client("dynamodb", server.url)
    put = {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "twice"}, "sk": {"S": "1"}}}}
    with pytest.raises(ClientError, match="ValidationException"):
        client.transact_write_items(TransactItems=[put, put])
    assert "Item" not in table.get_item(Key={"pk": "twice", "sk": "1"})


def test_a_committed_transaction_writes_all_its_items(server: MotoServer) -> None:
    client = _client("dynamodb", server.url)
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "sk": {"S": str(n)}}}} for n in range(3)
        ]
    )
    assert (
        _table(server).query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "t"})["Count"]
        == 3
    )


def test_items_and_every_object_version_survive_a_restart(server: MotoServer, data_dir: Path) -> None:
    table = _table(server)
    s3 = _client("s3", server.url)
    table.put_item(Item=EVERY_TYPE)
    table.put_item(Item={"pk": "gone", "sk": "1"})
    table.delete_item(Key={"pk": "gone", "sk": "1"})
    first = s3.put_object(Bucket=BUCKET, Key="dir/ü file.bin", Body=b"one", ContentType="application/x-one")
    second = s3.put_object(Bucket=BUCKET, Key="dir/ü file.bin", Body=b"two", Metadata={"who": "me"})
    marker = s3.delete_object(Bucket=BUCKET, Key="dir/ü file.bin")
    s3.put_object(Bucket=BUCKET, Key="purged", Body=b"bytes")
    purged = s3.list_object_versions(Bucket=BUCKET, Prefix="purged")["Versions"][0]["VersionId"]
    s3.delete_object(Bucket=BUCKET, Key="purged", VersionId=purged)

    again, restored = _restart(server, data_dir)
    try:
        assert restored == (1, 3)  # one item; two versions and a delete marker
        table, s3 = _table(again), _client("s3", again.url)
        assert table.get_item(Key={"pk": "every", "sk": "type"})["Item"]["s"] == "text ✓"
        assert "Item" not in table.get_item(Key={"pk": "gone", "sk": "1"})
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket=BUCKET, Key="dir/ü file.bin")
        old = s3.get_object(Bucket=BUCKET, Key="dir/ü file.bin", VersionId=first["VersionId"])
        assert (old["Body"].read(), old["ContentType"], old["ETag"]) == (
            b"one",
            "application/x-one",
            first["ETag"],
        )
        new = s3.get_object(Bucket=BUCKET, Key="dir/ü file.bin", VersionId=second["VersionId"])
        assert (new["Body"].read(), new["Metadata"]) == (b"two", {"who": "me"})
        listed = s3.list_object_versions(Bucket=BUCKET)
        assert [m["VersionId"] for m in listed["DeleteMarkers"]] == [marker["VersionId"]]
        assert {v["VersionId"] for v in listed["Versions"]} == {first["VersionId"], second["VersionId"]}
        # the purged version's bytes are gone from disk; each kept version has its own file
        assert len(list((data_dir / "blobs").iterdir())) == 2
    finally:
        again.stop()
        again.reset()


def test_object_bytes_live_on_disk_not_in_memory(server: MotoServer, data_dir: Path) -> None:
    s3 = _client("s3", server.url)
    s3.put_object(Bucket=BUCKET, Key="big", Body=b"x" * 100_000)
    (blob,) = (data_dir / "blobs").iterdir()
    assert blob.read_bytes() == b"x" * 100_000
    assert s3.get_object(Bucket=BUCKET, Key="big", Range="bytes=99998-")["Body"].read() == b"xx"


def _connection(server: MotoServer) -> http.client.HTTPConnection:
    host, port = server.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _exchange(
    connection: http.client.HTTPConnection, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, bytes, bool]:
    """(status, body, whether the server ends the connection) of one request on `connection`."""
    connection.request(
        method, path, body=body, headers=headers, encode_chunked="Transfer-Encoding" in headers
    )
    response = connection.getresponse()
    return response.status, response.read(), response.will_close


def test_connections_stay_open_and_a_body_nobody_read_is_skipped(server: MotoServer) -> None:
    connection = _connection(server)
    status, listing, closes = _exchange(connection, "GET", "/")  # S3 ListBuckets
    socket = connection.sock

    # A GET with a body S3 never reads: the next request on the connection must start after it.
    unread = _exchange(connection, "GET", "/", body=b"GET / HTTP/1.1\r\n\r\n" * 300)
    head = _exchange(connection, "HEAD", f"/{BUCKET}")  # HeadBucket: headers only
    again = _exchange(connection, "GET", f"/{BUCKET}?versioning")

    assert (status, closes) == (200, False)
    assert unread == (200, listing, False)
    assert head == (200, b"", False)
    assert again[0] == 200 and b"<Status>Enabled</Status>" in again[1] and not again[2]
    assert connection.sock is socket  # one TCP connection served all four
    connection.close()


def test_a_chunked_body_nobody_read_is_skipped_too(server: MotoServer) -> None:
    connection = _connection(server)
    headers = {
        "Transfer-Encoding": "chunked",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261204/us-east-1/dynamodb/aws4_request",
    }

    # The DynamoDB lock reads Content-Length bytes (none here): the chunks stay unread by moto.
    chunked = _exchange(connection, "POST", "/", body=iter([b"{", b"}"] * 100), **headers)
    after = _exchange(connection, "GET", f"/{BUCKET}?versioning")

    assert chunked[0] == 200 and json.loads(chunked[1]) == {"TableNames": [TABLE]} and not chunked[2]
    assert after[0] == 200 and b"<Status>Enabled</Status>" in after[1]
