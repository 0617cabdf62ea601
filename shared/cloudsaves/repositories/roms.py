"""The ROM catalog: one item per ROM, listed through gsi1 (all) and gsi2 (per platform), with counts.

RomM's page shape needs a `total`, and clients probe `GET /api/roms?limit=1` on every start: counting by
reading the whole catalog would make each probe cost the catalog's size. So every upsert keeps count
items (the catalog's and each platform's) in the same transaction, and a page reads only the ROMs up
to `offset + limit` plus one GetItem per count.

Each ROM also has a stem item (`keys.rom_stem_pk`, moved in the same transaction) so the RetroArch door
finds the ROM of `saves/<core>/<stem>.srm` with one Query, without reading the catalog.
"""

from __future__ import annotations

import heapq
import random
import time
from typing import Any

from cloudsaves.clock import now_iso
from cloudsaves.errors import ConcurrentUpdate, ServiceUnavailable
from cloudsaves.filenames import fold, fs_name_stem
from cloudsaves.models.roms import RomSchema
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_get, conditional_write, plain

CATALOG_PARTITION = "ROMS"
COUNT_SK = "COUNT"
_ROM_FIELDS = set(RomSchema.model_fields)
_UPSERT_ATTEMPTS = 6
_BACKOFF_BASE_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 1.0


class RomsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, rom_id: int, *, consistent: bool = False) -> RomSchema | None:
        key = {"pk": keys.rom_pk(rom_id), "sk": keys.PROFILE}
        item = self._table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return _rom(item) if item else None

    def existing_ids(self, rom_ids: set[int]) -> set[int]:
        """The ids among `rom_ids` that the catalog holds (BatchGetItem, 100 keys a call)."""
        item_keys = [{"pk": keys.rom_pk(i), "sk": keys.PROFILE} for i in sorted(rom_ids)]
        return {int(item["id"]) for item in batch_get(self._table, item_keys, ProjectionExpression="id")}

    def put(self, rom: RomSchema) -> None:
        """Insert or replace the ROM and move the counts with it, atomically (a lost race re-reads).

        Every upsert updates the catalog's count item, so concurrent imports contend on it: each retry
        waits a jittered, doubling delay (at most about 2.5 s in all) before ConcurrentUpdate gives up.
        Each attempt's busy cancellations are first retried by the table client's hook (up to 0.75 s),
        so the worst case is about 7 s.
        """
        for attempt in range(_UPSERT_ATTEMPTS):
            if attempt:
                ceiling = min(_BACKOFF_BASE_SECONDS * 2**attempt, _BACKOFF_CAP_SECONDS)
                time.sleep(random.uniform(ceiling / 2, ceiling))
            old = self.get(rom.id, consistent=True)
            try:
                with conditional_write():
                    self._table.meta.client.transact_write_items(TransactItems=self._upsert_items(rom, old))
                return
            except (ConcurrentUpdate, ServiceUnavailable):
                continue  # lost to another writer, or the count item is hot: back off and ask again
        raise ConcurrentUpdate(f"ROM {rom.id} kept changing while being written")

    def page(self, platform_ids: list[int], limit: int, offset: int) -> tuple[list[RomSchema], int]:
        """ROMs ordered by id with RomM's offset paging, merged across the platforms asked for."""
        partitions = [_platform_partition(p) for p in sorted(set(platform_ids))] or [CATALOG_PARTITION]
        index = "gsi2" if platform_ids else "gsi1"
        wanted = offset + limit
        ordered = heapq.merge(*(self._first(index, p, wanted) for p in partitions), key=lambda rom: rom.id)
        items = [rom for position, rom in enumerate(ordered) if position < wanted][offset:]
        return items, sum(self._count(partition) for partition in partitions)

    def _first(self, index: str, partition: str, wanted: int) -> list[RomSchema]:
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(f"{index}pk").eq(partition),
            "Limit": min(wanted, 1000),
        }
        roms: list[RomSchema] = []
        while len(roms) < wanted:
            page = self._table.query(**kwargs)
            roms.extend(_rom(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return roms[:wanted]

    def find_by_stem(self, stem_key: str) -> int | None:
        """The lowest id among ROMs whose fs_name stem folds to `stem_key` (one Query of one item)."""
        page = self._table.query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": keys.rom_stem_pk(stem_key)},
            Limit=1,
        )
        items = page.get("Items", [])
        return int(items[0]["rom_id"]) if items else None

    def _count(self, partition: str) -> int:
        item = self._table.get_item(Key={"pk": partition, "sk": COUNT_SK}).get("Item") or {}
        return int(item.get("rom_count", 0))

    def _upsert_items(self, rom: RomSchema, old: RomSchema | None) -> list[dict[str, Any]]:
        name = self._table.name
        if old is None:
            put_condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
            moves = {CATALOG_PARTITION: 1, _platform_partition(rom.platform_id): 1}
        else:
            put_condition = {
                "ConditionExpression": "platform_id = :old_platform",
                "ExpressionAttributeValues": {":old_platform": old.platform_id},
            }
            moves = {_platform_partition(old.platform_id): -1}
            moves[_platform_partition(rom.platform_id)] = (
                moves.get(_platform_partition(rom.platform_id), 0) + 1
            )
        items: list[dict[str, Any]] = [{"Put": {"TableName": name, "Item": self._item(rom), **put_condition}}]
        items += _stem_moves(name, rom, old)
        target = _platform_partition(rom.platform_id)
        moves.setdefault(target, 0)
        for partition, delta in moves.items():
            update: dict[str, Any] = {
                "TableName": name,
                "Key": {"pk": partition, "sk": COUNT_SK},
                "UpdateExpression": "ADD rom_count :delta",
                "ExpressionAttributeValues": {":delta": delta},
            }
            if partition == target:
                _describe_platform(update, rom)
            elif not delta:
                continue
            items.append({"Update": update})
        return items

    @staticmethod
    def _item(rom: RomSchema) -> dict[str, Any]:
        order = keys.sortable_int(rom.id)
        return {
            "pk": keys.rom_pk(rom.id),
            "sk": keys.PROFILE,
            "gsi1pk": CATALOG_PARTITION,
            "gsi1sk": order,
            "gsi2pk": _platform_partition(rom.platform_id),
            "gsi2sk": order,
            **rom.model_dump(),
        }


def _stem_key(rom: RomSchema) -> dict[str, str]:
    return {"pk": keys.rom_stem_pk(fold(fs_name_stem(rom.fs_name))), "sk": f"ROM#{keys.sortable_int(rom.id)}"}


def _stem_moves(table_name: str, rom: RomSchema, old: RomSchema | None) -> list[dict[str, Any]]:
    """Keep the stem item in step with fs_name: put the new one, delete the old one when it moved."""
    new_key = _stem_key(rom)
    moves: list[dict[str, Any]] = [{"Put": {"TableName": table_name, "Item": {**new_key, "rom_id": rom.id}}}]
    if old is not None and _stem_key(old) != new_key:
        moves.append({"Delete": {"TableName": table_name, "Key": _stem_key(old)}})
    return moves


def _platform_partition(platform_id: int) -> str:
    return keys.platform_count_pk(platform_id)


def _describe_platform(update: dict[str, Any], rom: RomSchema) -> None:
    """The platform's count item also says what the catalog knows of the platform (its slugs), and is
    listed in gsi1's platform partition: `GET /api/platforms` is one Query, with counts, no Scan."""
    update["UpdateExpression"] += (
        " SET gsi1pk = :platforms, gsi1sk = :order, platform_id = :pid, slug = :slug, fs_slug = :fs_slug,"
        " created_at = if_not_exists(created_at, :now), updated_at = :now"
    )
    update["ExpressionAttributeValues"].update(
        {
            ":platforms": keys.PLATFORMS_GSI1PK,
            ":order": keys.sortable_int(rom.platform_id),
            ":pid": rom.platform_id,
            ":slug": rom.platform_slug,
            ":fs_slug": rom.platform_fs_slug,
            ":now": now_iso(),
        }
    )


def _rom(item: dict[str, Any]) -> RomSchema:
    return RomSchema.model_validate({k: v for k, v in plain(item).items() if k in _ROM_FIELDS})
