"""Saves and states in DynamoDB: one repository, parametrised by kind ("save" or "state").

Items (see `keys`):
- the asset: pk `SAVE#<id>` / `STATE#<id>`, sk PROFILE; gsi1 = the user's saves/states, gsi2 = those
  of one ROM, both ordered by `<updated_at>#<id>`.
- a slot (saves with `slot`): its head and members, `repositories.slots` (`repo.slots`), written in the
  same transactions as the saves.
- a name claim (slot-less saves, all states): pk `SAVENAME#<user>#<rom>#<file name>` (STATENAME#...),
  sk HEAD, `{asset_id}`: one asset per user, ROM and name, so "same name -> update in place" is atomic.

Deleting many assets is one transaction over the asset items only (TransactWriteItems holds 100
actions); their member items and name claims are removed right after. Readers therefore treat a
member or claim whose asset is gone as absent (`dangling`), and the writers replace such entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cloudsaves.errors import BadRequest, ConcurrentUpdate
from cloudsaves.models.assets import AnyRecord, Kind, SaveRecord, StateRecord, SyncRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_get, conditional_write, decode_cursor, encode_cursor, plain
from cloudsaves.repositories.slots import SlotIndex

# A filtered list page stops after this many Queries (and hands out a cursor), so a page costs a bounded
# number of round trips even when few items match.
MAX_QUERIES_PER_PAGE = 8
_ASSET_KEYS = {"pk", "sk"}


@dataclass(frozen=True)
class ContentChange:
    """An in-place update of an asset: the new record, and the version it was decided against."""

    record: AnyRecord
    seen_version: int
    previous_updated_at: str
    sync_device_id: str | None = None  # the device whose sync record is set current with the write


class AssetsRepository:
    def __init__(self, table: Any, kind: Kind) -> None:
        self._table = table
        self._kind = kind
        self.slots = SlotIndex(table)
        self._record_type: type[SaveRecord] | type[StateRecord] = (
            SaveRecord if kind == "save" else StateRecord
        )

    # --- reads ------------------------------------------------------------------------------------

    def get(self, asset_id: int, *, consistent: bool = False) -> AnyRecord | None:
        item = self._table.get_item(Key=self._key(asset_id), ConsistentRead=consistent).get("Item")
        return self._record(item) if item else None

    def get_many(self, asset_ids: Iterable[int], *, consistent: bool = True) -> dict[int, AnyRecord]:
        """The existing assets among `asset_ids` (BatchGetItem, 100 keys a call)."""
        item_keys = [self._key(i) for i in sorted(set(asset_ids))]
        records = (
            self._record(item) for item in batch_get(self._table, item_keys, ConsistentRead=consistent)
        )
        return {record.id: record for record in records}

    def page(
        self,
        user_id: int,
        *,
        rom_id: int | None,
        platform_id: int | None,
        slot: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[AnyRecord], str | None]:
        """The user's assets, newest `updated_at` first, at most `limit`, and the cursor of the next page."""
        index = "gsi2" if rom_id is not None else "gsi1"
        partition = (
            keys.user_rom_assets_gsi2pk(self._kind, user_id, rom_id)
            if rom_id is not None
            else keys.user_assets_gsi1pk(self._kind, user_id)
        )
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": f"{index}pk = :p",
            "ExpressionAttributeValues": {":p": partition},
            "ScanIndexForward": False,
            **self._record_projection(),
        }
        filters = []
        if platform_id is not None:
            filters.append("platform_id = :platform")
            kwargs["ExpressionAttributeValues"][":platform"] = platform_id
        if slot is not None:
            filters.append("slot = :slot")
            kwargs["ExpressionAttributeValues"][":slot"] = slot
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        start = self._start_key(cursor, index, partition)
        records: list[AnyRecord] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            if start:
                kwargs["ExclusiveStartKey"] = start
            # Reading only what is still missing means a full page ends exactly on its last item.
            page = self._table.query(Limit=limit - len(records), **kwargs)
            records.extend(self._record(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start or len(records) >= limit:
                break
        return records, encode_cursor(start)

    def identifiers(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        partition = keys.user_assets_gsi1pk(self._kind, user_id)
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": partition},
            "ProjectionExpression": "id",
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = self._start_key(cursor, "gsi1", partition)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._table.query(**kwargs)
        return [int(item["id"]) for item in page.get("Items", [])], encode_cursor(
            page.get("LastEvaluatedKey")
        )

    def all_of_rom(self, user_id: int, rom_id: int) -> list[AnyRecord]:
        """Every asset of the user for one ROM, newest first (a Query of one gsi2 partition, all pages)."""
        kwargs: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :p",
            "ExpressionAttributeValues": {":p": keys.user_rom_assets_gsi2pk(self._kind, user_id, rom_id)},
            "ScanIndexForward": False,
            **self._record_projection(),
        }
        records: list[AnyRecord] = []
        while True:
            page = self._table.query(**kwargs)
            records.extend(self._record(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def stored_as(
        self, user_id: int, rom_id: int, file_name: str, file_path: str, updated_since: str
    ) -> list[AnyRecord]:
        """The user's assets of one ROM stored as `file_name` in `file_path`, newest first (RomM's
        lookup of a save by its path). Reads the ROM's gsi2 partition from `updated_since` only: the
        caller knows the asset cannot have changed before (a slot tag names its creation second).
        Eventually consistent, as any GSI: re-read what it finds before writing on it.
        """
        from boto3.dynamodb.conditions import Attr, Key

        kwargs: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": Key("gsi2pk").eq(
                keys.user_rom_assets_gsi2pk(self._kind, user_id, rom_id)
            )
            & Key("gsi2sk").gte(updated_since),
            "FilterExpression": Attr("file_name").eq(file_name) & Attr("file_path").eq(file_path),
            "ScanIndexForward": False,
        }
        records: list[AnyRecord] = []
        while True:
            page = self._table.query(**kwargs)
            records.extend(self._record(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def newest_in_slot(self, user_id: int, rom_id: int, slot: str) -> SaveRecord | None:
        """The slot's newest save (strongly consistent); members whose save is gone are dropped on the way."""
        want = 4
        while True:
            members = self.slots.members(user_id, rom_id, slot, limit=want)
            for member in members:
                record = self.get(member.save_id, consistent=True)
                if isinstance(record, SaveRecord):
                    return record
                self.slots.drop_member(user_id, rom_id, slot, member)
            if len(members) < want:
                return None
            want *= 4

    def in_slot_with_hash(self, user_id: int, rom_id: int, slot: str, digest: str) -> SaveRecord | None:
        """The slot's newest save holding `digest` (strongly consistent); dangling members are dropped."""
        for member in self.slots.members_with_hash(user_id, rom_id, slot, digest):
            record = self.get(member.save_id, consistent=True)
            if isinstance(record, SaveRecord) and record.content_hash == digest:
                return record
            if record is None:
                self.slots.drop_member(user_id, rom_id, slot, member)
        return None

    def named(self, user_id: int, rom_id: int, file_name: str) -> tuple[AnyRecord | None, int | None]:
        """(the asset holding this slot-less name, or None; the id of a claim whose asset is gone)."""
        claimed_id = self.name_claim(user_id, rom_id, file_name)
        if claimed_id is None:
            return None, None
        existing = self.get(claimed_id, consistent=True)
        return (existing, None) if existing is not None else (None, claimed_id)

    def name_claim(self, user_id: int, rom_id: int, file_name: str) -> int | None:
        """The id of the asset holding this name (strongly consistent); it may be dangling."""
        key = {"pk": keys.asset_name_pk(self._kind, user_id, rom_id, file_name), "sk": keys.NAME_CLAIM}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return int(item["asset_id"]) if item else None

    # --- writes that guard: each raises ConcurrentUpdate when what it was decided on has changed ----

    def create_in_slot(
        self, record: SaveRecord, seen_revision: int | None, ledger: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Add a save to its slot, if the slot's revision is still `seen_revision` (None: no head yet).

        `ledger`: the orphan-check ledger's actions, committed in the same transaction (every writer here).
        """
        self._transact(
            [self._put_new(self._item(record)), *self.slots.add_actions(record, seen_revision), *ledger]
        )

    def create_named(
        self, record: AnyRecord, dangling_id: int | None, ledger: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Add an asset and claim its name: free, or held by `dangling_id` (an asset that is gone)."""
        claim = {
            "pk": keys.asset_name_pk(self._kind, record.user_id, record.rom_id, record.file_name),
            "sk": keys.NAME_CLAIM,
            "asset_id": record.id,
        }
        put_claim: dict[str, Any] = {"TableName": self._table.name, "Item": claim}
        if dangling_id is None:
            put_claim["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put_claim["ConditionExpression"] = "asset_id = :dangling"
            put_claim["ExpressionAttributeValues"] = {":dangling": dangling_id}
        self._transact([self._put_new(self._item(record)), {"Put": put_claim}, *ledger])

    def update_content(self, change: ContentChange, ledger: Sequence[dict[str, Any]] = ()) -> None:
        """Write new content and/or screenshot in place, if the asset is still at `seen_version`.

        A slot save also moves its member item and bumps the slot revision (it may now be the newest).
        """
        record = change.record
        order = keys.asset_order(record.updated_at, record.id)
        values: dict[str, Any] = {
            ":seen": change.seen_version,
            ":version": record.version,
            ":updated_at": record.updated_at,
            ":file_size": record.file_size_bytes,
            ":hash": record.content_hash,
            ":object_key": record.object_key,
            ":emulator": record.emulator,
            ":file_path": record.file_path,
            ":order": order,
        }
        names: dict[str, str] = {}
        assignments = [
            "version = :version",
            "updated_at = :updated_at",
            "file_size_bytes = :file_size",
            "content_hash = :hash",
            "object_key = :object_key",
            "emulator = :emulator",
            "file_path = :file_path",
            "gsi1sk = :order",
            "gsi2sk = :order",
        ]
        removals = []
        if record.screenshot is None:
            removals.append("screenshot")
        else:
            assignments.append("screenshot = :screenshot")
            values[":screenshot"] = record.screenshot.model_dump(mode="json")
        if change.sync_device_id is not None:
            assert isinstance(record, SaveRecord)
            assignments.append("syncs.#device = :sync")
            names["#device"] = change.sync_device_id
            values[":sync"] = record.syncs[change.sync_device_id].model_dump(mode="json")
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        update: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": self._key(record.id),
            "UpdateExpression": expression,
            "ConditionExpression": "version = :seen",
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        actions: list[dict[str, Any]] = [{"Update": update}]
        moved = record.updated_at != change.previous_updated_at
        if isinstance(record, SaveRecord) and record.slot is not None and moved:
            actions += self.slots.move_actions(record, change.previous_updated_at)
        self._transact([*actions, *ledger])

    def delete_owned(self, records: Iterable[AnyRecord]) -> None:
        """Delete every asset or none (one transaction; each still owned by its user and unchanged)."""
        actions = [
            {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": self._key(record.id),
                    "ConditionExpression": "user_id = :u AND version = :v",
                    "ExpressionAttributeValues": {":u": record.user_id, ":v": record.version},
                }
            }
            for record in records
        ]
        if actions:
            self._transact(actions)

    def delete_one(self, record: AnyRecord) -> bool:
        """Delete one asset if it is unchanged since read; false when it changed or is gone."""
        try:
            with conditional_write():
                self._table.delete_item(
                    Key=self._key(record.id),
                    ConditionExpression="version = :v",
                    ExpressionAttributeValues={":v": record.version},
                )
        except ConcurrentUpdate:
            return False
        return True

    # --- writes that do not guard -----------------------------------------------------------------

    def remove_index_entries(self, records: Iterable[AnyRecord]) -> None:
        """After deleting assets: drop their slot members and name claims, and bump their slots' revisions."""
        in_slots: list[SaveRecord] = []
        for record in records:
            if isinstance(record, SaveRecord) and record.slot is not None:
                in_slots.append(record)
            else:
                self._release_name(record)
        self.slots.remove(in_slots)

    def set_visibility(self, asset_id: int, user_id: int, is_public: bool) -> AnyRecord:
        """Set `is_public` on the user's own asset; ConcurrentUpdate when it is not theirs (or gone)."""
        with conditional_write():
            item = self._table.update_item(
                Key=self._key(asset_id),
                UpdateExpression="SET is_public = :v",
                ConditionExpression="user_id = :u",
                ExpressionAttributeValues={":v": is_public, ":u": user_id},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        return self._record(item)

    def put_sync(self, save_id: int, device_id: str, sync: SyncRecord) -> SaveRecord:
        """Set one device's sync record on a save (ConcurrentUpdate when the save is gone)."""
        return self._update_sync(
            save_id, device_id, "SET syncs.#device = :v", "attribute_exists(pk)", sync.model_dump(mode="json")
        )

    def set_untracked_flag(self, save_id: int, device_id: str, untracked: bool) -> SaveRecord:
        """Flip `is_untracked` of an existing sync record (ConcurrentUpdate when there is none)."""
        return self._update_sync(
            save_id,
            device_id,
            "SET syncs.#device.is_untracked = :v",
            "attribute_exists(syncs.#device)",
            untracked,
        )

    def add_sync_if_absent(self, save_id: int, device_id: str, sync: SyncRecord) -> SaveRecord:
        """Create a sync record where there is none (ConcurrentUpdate when one exists or the save is gone)."""
        return self._update_sync(
            save_id,
            device_id,
            "SET syncs.#device = :v",
            "attribute_exists(pk) AND attribute_not_exists(syncs.#device)",
            sync.model_dump(mode="json"),
        )

    def _update_sync(
        self, save_id: int, device_id: str, update: str, condition: str, value: Any
    ) -> SaveRecord:
        with conditional_write():
            item = self._table.update_item(
                Key=self._key(save_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#device": device_id},
                ExpressionAttributeValues={":v": value},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        record = self._record(item)
        assert isinstance(record, SaveRecord)
        return record

    # --- mapping ----------------------------------------------------------------------------------

    def _key(self, asset_id: int) -> dict[str, str]:
        return {"pk": keys.asset_pk(self._kind, asset_id), "sk": keys.PROFILE}

    def _item(self, record: AnyRecord) -> dict[str, Any]:
        data = record.model_dump(mode="json")
        if data.get("screenshot") is None:
            data.pop("screenshot", None)  # absent, not NULL: `attribute_not_exists(screenshot)` reads well
        order = keys.asset_order(record.updated_at, record.id)
        item = {
            **self._key(record.id),
            "gsi1pk": keys.user_assets_gsi1pk(self._kind, record.user_id),
            "gsi1sk": order,
            "gsi2pk": keys.user_rom_assets_gsi2pk(self._kind, record.user_id, record.rom_id),
            "gsi2sk": order,
            **data,
        }
        # What sync negotiate pairs: states, and saves with a slot (slot-less saves are archival).
        if not isinstance(record, SaveRecord) or record.slot is not None:
            item["slotspk"] = keys.slots_index_pk(self._kind, record.user_id)
            item["slotssk"] = keys.sortable_int(record.id)
        return item

    def _record_projection(self) -> dict[str, Any]:
        """Query arguments reading only the record's own attributes: a page of 100 leaves its eight
        key attributes behind, about a quarter of what the SDK would parse (bench/local_requests.py)."""
        names = {f"#f{n}": field for n, field in enumerate(self._record_type.model_fields)}
        return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}

    def _record(self, item: dict[str, Any]) -> AnyRecord:
        fields = self._record_type.model_fields
        return self._record_type.model_validate({k: v for k, v in plain(item).items() if k in fields})

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _start_key(self, cursor: str | None, index: str, partition: str) -> dict[str, Any] | None:
        start = decode_cursor(cursor, _ASSET_KEYS | {f"{index}pk", f"{index}sk"})
        prefix = f"{keys.ASSET_PREFIX[self._kind]}#"
        if start is not None and (
            start[f"{index}pk"] != partition or not str(start["pk"]).startswith(prefix)
        ):
            raise BadRequest("Invalid cursor")
        return start

    def _release_name(self, record: AnyRecord) -> None:
        try:
            with conditional_write():
                self._table.delete_item(
                    Key={
                        "pk": keys.asset_name_pk(self._kind, record.user_id, record.rom_id, record.file_name),
                        "sk": keys.NAME_CLAIM,
                    },
                    ConditionExpression="asset_id = :id",
                    ExpressionAttributeValues={":id": record.id},
                )
        except ConcurrentUpdate:
            pass  # the name already belongs to a newer asset

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        with conditional_write():
            self._table.meta.client.transact_write_items(TransactItems=actions)
