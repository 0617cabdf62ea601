"""Direct-transfer benchmark: the presigned path (API.md section 7) against plain boto3 on the same S3.

Starts the local stack (`python -m local_stack --port 0`) in a subprocess, then for each size:
  direct upload    reserve (POST /api/states/uploads) + PUT to the presigned URL + complete
  direct download  POST /api/states/{id}/download-url + GET the presigned URL
  boto3            put_object / get_object of the same bytes to the same moto server
and reports the time ratio direct / boto3, plus every byte sent to or received from the API base URL
(what API Gateway and Lambda would carry): only small JSON documents on the direct path.

    make bench                                   # 1 MB, 20 MB and 200 MB, best of 3 (200 MB: 1 run)
    python bench/direct_transfer.py --sizes 1 20 --repeat 5
    python bench/direct_transfer.py --base-url http://127.0.0.1:3000 --moto-url http://127.0.0.1:5000 \\
        --admin admin:password                   # against a stack that is already running
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config
from stack_process import Stack, local_stack

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
ROM_ID = 900_001
# Above this many bytes through the API for one transfer, the direct path is not direct any more.
MAX_API_BYTES_PER_TRANSFER = 64 * 1024


@dataclass
class Row:
    size_mb: int
    operation: str
    direct_seconds: float
    boto3_seconds: float
    api_bytes: int

    @property
    def ratio(self) -> float:
        return self.direct_seconds / self.boto3_seconds


class CountingSession(requests.Session):
    """A requests session that adds up every body byte it sends to and receives from the API."""

    def __init__(self) -> None:
        super().__init__()
        self.api_bytes = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        body = request.body or b""
        self.api_bytes += len(body if isinstance(body, bytes) else str(body).encode()) + len(response.content)
        return response


def prepare(stack: Stack) -> tuple[str, str]:
    """A fresh user and the benchmark's ROM; returns the user's Basic credentials."""
    username, password = f"bench-{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(12)
    created = requests.post(
        f"{stack.base_url}/api/users",
        json={"username": username, "password": password, "role": "viewer"},
        auth=stack.admin,
        timeout=30,
    )
    created.raise_for_status()
    rom = {"name": "Bench", "fs_name": "bench.bin", "platform_id": 1, "platform_slug": "gba",
           "platform_fs_slug": "gba"}  # fmt: skip
    requests.put(
        f"{stack.base_url}/api/roms/{ROM_ID}", json=rom, auth=stack.admin, timeout=30
    ).raise_for_status()
    return username, password


def direct_upload(stack: Stack, auth: tuple[str, str], api: CountingSession, data: bytes) -> dict[str, Any]:
    content_md5 = base64.b64encode(hashlib.md5(data).digest()).decode()  # the client's own cost, counted
    reserved = api.post(
        f"{stack.base_url}/api/states/uploads",
        json={
            "rom_id": ROM_ID,
            "file_name": f"bench-{uuid.uuid4().hex[:8]}.state",
            "file_size_bytes": len(data),
            "content_md5": content_md5,
        },
        auth=auth,
        timeout=60,
    )
    reserved.raise_for_status()
    put = reserved.json()["state"]
    requests.put(put["url"], data=data, headers=put["headers"], timeout=600).raise_for_status()
    completed = api.post(
        f"{stack.base_url}/api/states/uploads/{reserved.json()['upload_id']}/complete", auth=auth, timeout=120
    )
    completed.raise_for_status()
    return completed.json()


def direct_download(stack: Stack, auth: tuple[str, str], api: CountingSession, state_id: int) -> bytes:
    link = api.post(f"{stack.base_url}/api/states/{state_id}/download-url", auth=auth, timeout=60)
    link.raise_for_status()
    fetched = requests.get(link.json()["url"], timeout=600)
    fetched.raise_for_status()
    return fetched.content


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def bench_size(
    stack: Stack, auth: tuple[str, str], s3: Any, bucket: str, size_mb: int, runs: int
) -> list[Row]:
    data = os.urandom(size_mb * MB)
    api = CountingSession()
    up_direct, state = best_of(runs, lambda: direct_upload(stack, auth, api, data))
    upload_api_bytes, api.api_bytes = api.api_bytes // runs, 0
    if state["content_hash"] != hashlib.md5(data).hexdigest():
        raise SystemExit(f"{size_mb} MB: content_hash {state['content_hash']} is not the bytes' MD5")
    down_direct, fetched = best_of(runs, lambda: direct_download(stack, auth, api, state["id"]))
    if fetched != data:
        raise SystemExit(f"{size_mb} MB: the download differs from the upload")
    download_api_bytes = api.api_bytes // runs

    key = f"bench/{uuid.uuid4().hex}"
    up_boto3, _ = best_of(runs, lambda: s3.put_object(Bucket=bucket, Key=key, Body=data))
    down_boto3, _ = best_of(runs, lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return [
        Row(size_mb, "upload", up_direct, up_boto3, upload_api_bytes),
        Row(size_mb, "download", down_direct, down_boto3, download_api_bytes),
    ]


def bucket_of(stack: Stack, auth: tuple[str, str]) -> str:
    """The stack's bucket, read from a presigned URL (path-style: /<bucket>/<key>)."""
    probe = requests.post(
        f"{stack.base_url}/api/states/uploads",
        json={
            "rom_id": ROM_ID,
            "file_name": "probe.state",
            "file_size_bytes": 1,
            "content_md5": base64.b64encode(hashlib.md5(b"x").digest()).decode(),
        },
        auth=auth,
        timeout=30,
    )
    probe.raise_for_status()
    return requests.utils.urlparse(probe.json()["state"]["url"]).path.split("/")[1]


def report(rows: list[Row]) -> None:
    header = ("size", "operation", "direct s", "boto3 s", "ratio", "MB/s", "API bytes")
    print("{:>7} {:<9} {:>9} {:>8} {:>6} {:>7} {:>10}".format(*header))
    for row in rows:
        rate = row.size_mb / row.direct_seconds
        print(
            f"{row.size_mb:>4} MB {row.operation:<9} {row.direct_seconds:>9.3f} {row.boto3_seconds:>8.3f} "
            f"{row.ratio:>6.2f} {rate:>7.1f} {row.api_bytes:>10}"
        )
    moved = sum(row.size_mb for row in rows)
    print(f"payload moved: {moved} MB; through the API (Lambda): {sum(r.api_bytes for r in rows)} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 200], metavar="MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size, best kept (200 MB and up: 1)")
    parser.add_argument("--base-url", help="an already running local stack's API (else one is started)")
    parser.add_argument("--moto-url", help="its moto server (with --base-url)")
    parser.add_argument("--admin", help="its admin as user:password (with --base-url)")
    args = parser.parse_args(argv)

    if args.base_url:
        if not (args.moto_url and args.admin):
            parser.error("--base-url needs --moto-url and --admin")
        user, _, password = args.admin.partition(":")
        stack_cm: Any = nullcontext(Stack(args.base_url, args.moto_url, (user, password)))
    else:
        stack_cm = local_stack()
    with stack_cm as stack:
        auth = prepare(stack)
        s3 = boto3.client(
            "s3",
            endpoint_url=stack.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        bucket = bucket_of(stack, auth)
        rows: list[Row] = []
        for size_mb in args.sizes:
            runs = 1 if size_mb >= 200 else args.repeat
            rows.extend(bench_size(stack, auth, s3, bucket, size_mb, runs))
            print(f"{size_mb} MB done", file=sys.stderr, flush=True)
    report(rows)
    too_many = [r for r in rows if r.api_bytes > MAX_API_BYTES_PER_TRANSFER]
    if too_many:
        print(f"FAIL: payload bytes went through the API: {too_many}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
