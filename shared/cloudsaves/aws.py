"""AWS clients, created once per container (lazily: a function that never touches S3 never builds it)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from cloudsaves.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _session() -> Any:
    import boto3

    # boto3's default session keeps loaded service models, so rebuilt clients (tests) stay cheap.
    return boto3._get_default_session()


@functools.cache
def table() -> Table:
    """The service's DynamoDB table (resource API: plain Python values in and out)."""
    from cloudsaves.repositories.dynamo import parse_item_reads, retry_busy_transaction

    resource = _session().resource("dynamodb")
    events = resource.meta.client.meta.events
    # botocore retries throttled single calls but not a transaction cancelled for being busy.
    events.register("needs-retry.dynamodb", retry_busy_transaction)
    for read in ("Query", "BatchGetItem"):  # the reads answering many items: parsed faster than botocore does
        events.register(f"before-parse.dynamodb.{read}", parse_item_reads)
    return resource.Table(get_settings().table_name)


@functools.cache
def s3_client() -> Any:
    from botocore.config import Config

    # Path-style keeps presigned URLs valid against the local moto server as well as AWS.
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"mode": "standard"})
    return _session().client("s3", config=config)


@functools.cache
def secrets_client() -> Any:
    return _session().client("secretsmanager")


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh moto per test)."""
    for cached in (table, s3_client, secrets_client):
        cached.cache_clear()
