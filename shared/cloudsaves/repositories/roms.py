"""The ROM catalog: one item per ROM, listed through gsi1 (all) and gsi2 (per platform)."""

from __future__ import annotations

from typing import Any

from cloudsaves.models.roms import RomSchema
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import plain

CATALOG_PARTITION = "ROMS"
_ROM_FIELDS = set(RomSchema.model_fields)


class RomsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, rom_id: int) -> RomSchema | None:
        item = self._table.get_item(Key={"pk": keys.rom_pk(rom_id), "sk": keys.PROFILE}).get("Item")
        return _rom(item) if item else None

    def put(self, rom: RomSchema) -> None:
        self._table.put_item(Item=self._item(rom))

    def put_many(self, roms: list[RomSchema]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for rom in roms:
                batch.put_item(Item=self._item(rom))

    def page(self, platform_ids: list[int], limit: int, offset: int) -> tuple[list[RomSchema], int]:
        """ROMs ordered by id with RomM's offset paging, over one index partition per platform."""
        partitions = [f"PLATFORM#{p}" for p in sorted(set(platform_ids))] or [CATALOG_PARTITION]
        index = "gsi2" if platform_ids else "gsi1"
        roms: list[RomSchema] = []
        for partition in partitions:
            roms.extend(self._query_partition(index, partition))
        roms.sort(key=lambda rom: rom.id)
        return roms[offset : offset + limit], len(roms)

    def _query_partition(self, index: str, partition: str) -> list[RomSchema]:
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(f"{index}pk").eq(partition),
        }
        roms: list[RomSchema] = []
        while True:
            page = self._table.query(**kwargs)
            roms.extend(_rom(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return roms
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _item(rom: RomSchema) -> dict[str, Any]:
        order = keys.sortable_int(rom.id)
        return {
            "pk": keys.rom_pk(rom.id),
            "sk": keys.PROFILE,
            "gsi1pk": CATALOG_PARTITION,
            "gsi1sk": order,
            "gsi2pk": f"PLATFORM#{rom.platform_id}",
            "gsi2sk": order,
            **rom.model_dump(),
        }


def _rom(item: dict[str, Any]) -> RomSchema:
    return RomSchema.model_validate({k: v for k, v in plain(item).items() if k in _ROM_FIELDS})
