"""Platforms as the ROM catalog's per-platform count items (written by `repositories/roms.py`)."""

from __future__ import annotations

from typing import Any

from cloudsaves.models.platforms import PlatformRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import plain, query_all
from cloudsaves.repositories.roms import COUNT_SK


class PlatformsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, platform_id: int) -> PlatformRecord | None:
        key = {"pk": keys.platform_count_pk(platform_id), "sk": COUNT_SK}
        item = self._table.get_item(Key=key).get("Item")
        return PlatformRecord.model_validate(plain(item)) if item and "slug" in item else None

    def list(self) -> list[PlatformRecord]:
        """Every platform of the catalog: one Query on gsi1's platform partition (a few hundred at most)."""
        from boto3.dynamodb.conditions import Key

        items = query_all(
            self._table, IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(keys.PLATFORMS_GSI1PK)
        )
        return [PlatformRecord.model_validate(plain(item)) for item in items]
