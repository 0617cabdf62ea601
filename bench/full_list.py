"""What a whole list costs the Lambda that answers it: `GET /api/saves` without `limit` for N saves.

    PYTHONPATH=.:shared python bench/full_list.py [N]      (default 5000)

Builds N SaveSchema answers (RomM's shape, file names like real ones), runs them through
`cloudsaves.http.list_response` and Powertools' compression as the list_saves function does, and prints
the body size plain and gzipped (base64, as API Gateway carries it) against Lambda's 6 MB payload, and
the time the serialization and compression take. No AWS and no moto: the DynamoDB reads are not timed.
"""

from __future__ import annotations

import base64
import gzip
import os
import sys
import time

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cloud-saves")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CloudSaves")
os.environ.setdefault("TABLE_NAME", "bench")

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from cloudsaves.http import list_response, payload_size
from cloudsaves.models.assets import SaveSchema

LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
QUOTED_STAMP = "2025-03-01T12%3A00%3A00.000000%2B00%3A00"


def saves(count: int) -> list[SaveSchema]:
    stamp = "2025-03-01T12:00:00.000000+00:00"
    return [
        SaveSchema(
            id=10**12 + i,
            rom_id=1000 + i % 700,
            user_id=123456789,
            file_name=f"Pokemon Emerald (USA) [2025-03-01_12-00-{i % 60:02d}].srm",
            file_name_no_tags="Pokemon Emerald (USA)",
            file_name_no_ext=f"Pokemon Emerald (USA) [2025-03-01_12-00-{i % 60:02d}]",
            file_extension="srm",
            file_path=f"users/123456789/saves/gba/{1000 + i % 700}/mgba",
            file_size_bytes=131072,
            full_path=f"users/123456789/saves/gba/{1000 + i % 700}/mgba/Pokemon Emerald (USA).srm",
            download_path=f"/api/saves/{10**12 + i}/content?timestamp={QUOTED_STAMP}",
            created_at=stamp,
            updated_at=stamp,
            emulator="mgba",
            slot="autosave",
            content_hash=f"{i:032x}",
            screenshot=None,
        )
        for i in range(count)
    ]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    items = saves(count)
    app = APIGatewayHttpResolver()
    for accept in ("", "gzip"):
        app.append_context()
        event = {
            "version": "2.0",
            "rawPath": "/api/saves",
            "headers": {"accept-encoding": accept},
            "requestContext": {"http": {"method": "GET", "path": "/api/saves"}},
        }
        app.current_event = app._to_proxy_event(event)  # as resolve() sets it for the route
        start = time.perf_counter()
        body = list_response(app, items).body
        if accept:
            body = base64.b64encode(gzip.compress(body.encode(), compresslevel=9)).decode()
        elapsed = (time.perf_counter() - start) * 1000
        share = payload_size(body) / LAMBDA_PAYLOAD_BYTES
        label = "gzip+base64" if accept else "plain"
        size = payload_size(body)
        print(
            f"{count} saves, {label:11}: {len(body):>10,} bytes, {size:>10,} in Lambda's payload"
            f" ({share:.0%} of 6 MB) in {elapsed:.0f} ms"
        )


if __name__ == "__main__":
    main()
