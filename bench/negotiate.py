"""Sync negotiate's cost: DynamoDB round trips and the handler's own CPU time, from 10 to 1,000 saves.

    make bench-negotiate      (or: PYTHONPATH=.:shared python bench/negotiate.py)

moto's server runs in a separate process, so `time.process_time()` here measures the handler's work
(parsing, pairing, botocore serialising and parsing) and none of the emulated DynamoDB's. Round trips
are counted with a botocore `before-call` hook on the handler's own client. Each size is a fresh user
with that many slotted saves, all synced by the device, and a manifest listing every one of them
(the heaviest plan: every save paired).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 1000)
RUNS = int(os.environ.get("NEGOTIATE_RUNS", "5"))
DEVICE = "bench-device"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("moto server did not start")


def _event(user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    context = {
        "authenticated": True,
        "user_id": user_id,
        "username": f"bench{user_id}",
        "role": "viewer",
        "scopes": "assets.read devices.read",
        "device_id": "",
    }
    return {
        "version": "2.0",
        "routeKey": "POST /api/sync/negotiate",
        "rawPath": "/api/sync/negotiate",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": "/api/sync/negotiate", "sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "POST /api/sync/negotiate",
            "stage": "$default",
            "authorizer": {"lambda": context},
        },
        "isBase64Encoded": False,
        "body": json.dumps(body),
    }


class _Context:
    function_name = "negotiate_sync"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:negotiate_sync"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def _seed(user_id: int, count: int) -> list[dict[str, Any]]:
    """`count` slotted saves synced by the device, written as the repository writes them; the manifest."""
    from cloudsaves.aws import table
    from cloudsaves.models.assets import SaveRecord, SyncRecord
    from cloudsaves.models.devices import DeviceRecord
    from cloudsaves.repositories.assets import AssetsRepository
    from cloudsaves.repositories.devices import DevicesRepository

    stamp = "2025-03-01T12:00:00.000000+00:00"
    DevicesRepository(table()).create(
        DeviceRecord(id=DEVICE, user_id=user_id, name="Bench", created_at=stamp, updated_at=stamp)
    )
    repo = AssetsRepository(table(), "save")
    manifest = []
    with table().batch_writer() as batch:
        for i in range(count):
            record = SaveRecord(
                id=user_id * 100_000 + i + 1,
                user_id=user_id,
                rom_id=1 + i // 4,
                platform_id=1,
                platform_fs_slug="gba",
                file_name=f"Game {i} [2025-03-01_12-00-00].srm",
                file_name_no_tags=f"Game {i}",
                file_name_no_ext=f"Game {i} [2025-03-01_12-00-00]",
                file_extension="srm",
                file_path=f"users/{user_id}/saves/gba/{1 + i // 4}/mgba",
                file_size_bytes=131072,
                emulator="mgba",
                content_hash=f"{i:032x}",
                created_at=stamp,
                updated_at=stamp,
                object_key=f"users/{user_id}/saves/{uuid.uuid4().hex}/Game {i}.srm",
                slot=f"slot{i % 4}",
                syncs={
                    DEVICE: SyncRecord(last_synced_at=stamp),
                    "other-device": SyncRecord(last_synced_at=stamp),
                },
            )
            batch.put_item(Item=repo._item(record))  # the item exactly as the repository writes it
            manifest.append(
                {
                    "rom_id": record.rom_id,
                    "file_name": f"Game {i}.srm",
                    "slot": record.slot,
                    "emulator": "mgba",
                    "content_hash": record.content_hash,
                    "updated_at": stamp,
                    "file_size_bytes": 131072,
                }
            )
    return manifest


def main() -> None:
    moto, url = _start_moto()
    try:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
                "TABLE_NAME": "bench-table",
                "BUCKET_NAME": "bench-bucket",
                "POWERTOOLS_SERVICE_NAME": "cloud-saves",
                "POWERTOOLS_METRICS_NAMESPACE": "CloudSaves",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        import boto3

        from cloudsaves.aws import table
        from local_stack.resolver import Resolver
        from local_stack.resources import create_all
        from local_stack.template import load_template
        from tests.conftest import load_function

        resolver = Resolver(
            load_template(ROOT / "template.yaml"),
            "us-east-1",
            names={"Table": "bench-table", "Bucket": "bench-bucket"},
        )
        create_all(resolver, boto3.client("dynamodb"), boto3.client("s3"))
        handler = load_function("negotiate_sync").lambda_handler
        calls: list[str] = []
        table().meta.client.meta.events.register(
            "before-call.dynamodb", lambda event_name, **_: calls.append(event_name.rsplit(".", 1)[-1])
        )
        print(
            f"{'saves':>6} {'round trips':>12}  {'calls':<40} {'CPU ms (median)':>16} {'us / save':>10}"
            f" {'us / added save':>16}"
        )
        previous: tuple[int, float] | None = None
        for user_id, size in enumerate(SIZES, start=1):
            manifest = _seed(user_id, size)
            samples = []
            for _ in range(RUNS):
                calls.clear()
                event = _event(user_id, {"device_id": DEVICE, "saves": manifest})
                with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metrics line
                    started = time.process_time()
                    response = handler(event, _Context())
                    samples.append(time.process_time() - started)
                assert response["statusCode"] == 200, response
                assert json.loads(response["body"])["total_no_op"] == size
            cpu = statistics.median(samples) * 1000
            # The marginal cost per save (this size against the previous): flat when nothing is per-save I/O.
            added = (
                f"{(cpu - previous[1]) * 1000 / (size - previous[0]):>16.0f}" if previous else f"{'-':>16}"
            )
            previous = (size, cpu)
            print(
                f"{size:>6} {len(calls):>12}  {', '.join(sorted(calls)):<40} {cpu:>16.1f}"
                f" {cpu * 1000 / size:>10.0f} {added}"
            )
    finally:
        moto.kill()
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
