"""An index Query's time as the table grows, on the local stack's moto server.

    make bench      (or: PYTHONPATH=.:shared python bench/index_queries.py [--sizes 100 1000 5000 20000])

Every list and upload reads a global secondary index. moto has no index storage: it answers an index
Query by going through the whole table (and sorted it first), so a self-hoster's lists slowed down as
their table grew. The local stack's patch (local_stack/moto_patches.py) still visits every item, but
only to compare the index key as stored. Prints the median time of a Query on an index partition of
10 items, with the table at each size (the other items in other partitions, as other users' saves).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from local_stack.moto_server import MotoServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000, 20000])
    args = parser.parse_args(argv)
    import boto3

    server = MotoServer()
    client = boto3.client(
        "dynamodb",
        endpoint_url=server.start(),
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    client.create_table(
        TableName="bench",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "gs")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    print("Index Query (10 items answered) as the table grows: median ms of 30")
    written = 0
    for size in sorted(args.sizes):
        while written < size:
            partition = "mine" if written < 10 else f"user{written % 500}"
            item = {
                "pk": f"item{written}",
                "sk": "x",
                "g": partition,
                "gs": f"{written:08d}",
                "data": "y" * 300,
            }
            client.put_item(TableName="bench", Item={k: {"S": v} for k, v in item.items()})
            written += 1
        samples = []
        for _ in range(30):
            started = time.perf_counter()
            answer = client.query(
                TableName="bench",
                IndexName="gsi",
                KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "mine"}},
            )
            samples.append((time.perf_counter() - started) * 1000)
            assert answer["Count"] == 10
        print(f"{size:>8} items: {statistics.median(samples):6.1f} ms")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
