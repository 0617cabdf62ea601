"""A save slot's items in DynamoDB (the slot index of `AssetsRepository`, which writes them in the same
transactions as the saves).

Items (see `keys`): pk `SLOT#<user>#<rom>#<slot>`; sk HEAD holds `revision`, which every write adding
to the slot must match (the conflict guard's atomic check), and one member item per save, sk
`M#<updated_at>#<id>`, read with strongly consistent Queries (guard, dedup, autocleanup). A member whose
save is gone is `dangling`: readers skip it and drop it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cloudsaves.models.assets import SaveRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_write, plain


@dataclass(frozen=True)
class SlotMember:
    save_id: int
    updated_at: str
    content_hash: str | None
    sk: str


class SlotIndex:
    def __init__(self, table: Any) -> None:
        self._table = table

    # --- reads (strongly consistent) --------------------------------------------------------------

    def revision(self, user_id: int, rom_id: int, slot: str) -> int | None:
        key = {"pk": keys.slot_pk(user_id, rom_id, slot), "sk": keys.SLOT_HEAD}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return int(item["revision"]) if item else None

    def members(self, user_id: int, rom_id: int, slot: str, *, limit: int | None = None) -> list[SlotMember]:
        """The slot's members, newest first; all of them unless `limit`."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
            "ExpressionAttributeValues": {":p": keys.slot_pk(user_id, rom_id, slot), ":m": "M#"},
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        members: list[SlotMember] = []
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - len(members)
            page = self._table.query(**kwargs)
            members.extend(_member(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and len(members) >= limit):
                return members
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def members_with_hash(self, user_id: int, rom_id: int, slot: str, content_hash: str) -> list[SlotMember]:
        """The slot's members holding `content_hash`, newest first."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
            "FilterExpression": "content_hash = :h",
            "ExpressionAttributeValues": {
                ":p": keys.slot_pk(user_id, rom_id, slot),
                ":m": "M#",
                ":h": content_hash,
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        members: list[SlotMember] = []
        while True:
            page = self._table.query(**kwargs)
            members.extend(_member(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return members
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- a save's transaction: the slot's part ----------------------------------------------------

    def add_actions(self, record: SaveRecord, seen_revision: int | None) -> list[dict[str, Any]]:
        """A new save's member, if the slot's revision is still `seen_revision` (None: no head yet)."""
        assert record.slot is not None
        pk = keys.slot_pk(record.user_id, record.rom_id, record.slot)
        if seen_revision is None:
            head: dict[str, Any] = {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"pk": pk, "sk": keys.SLOT_HEAD, "revision": 1},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        else:
            head = {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": pk, "sk": keys.SLOT_HEAD},
                    "UpdateExpression": "SET revision = :next",
                    "ConditionExpression": "revision = :seen",
                    "ExpressionAttributeValues": {":seen": seen_revision, ":next": seen_revision + 1},
                }
            }
        return [head, {"Put": self._member_put(record)}]

    def move_actions(self, record: SaveRecord, previous_updated_at: str) -> list[dict[str, Any]]:
        """A rewritten save's member moves to its new `updated_at`, and the revision moves on."""
        assert record.slot is not None
        pk = keys.slot_pk(record.user_id, record.rom_id, record.slot)
        return [
            {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": {"pk": pk, "sk": keys.slot_member_sk(previous_updated_at, record.id)},
                }
            },
            {"Put": self._member_put(record)},
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": pk, "sk": keys.SLOT_HEAD},
                    "UpdateExpression": "ADD revision :one",
                    "ExpressionAttributeValues": {":one": 1},
                }
            },
        ]

    # --- writes that do not guard -----------------------------------------------------------------

    def remove(self, records: Iterable[SaveRecord]) -> None:
        """After deleting slot saves: drop their members and bump their slots' revisions."""
        members: list[dict[str, Any]] = []
        slots: set[tuple[int, int, str]] = set()
        for record in records:
            assert record.slot is not None
            slots.add((record.user_id, record.rom_id, record.slot))
            members.append(
                {
                    "pk": keys.slot_pk(record.user_id, record.rom_id, record.slot),
                    "sk": keys.slot_member_sk(record.updated_at, record.id),
                }
            )
        batch_write(self._table, [{"DeleteRequest": {"Key": key}} for key in members])
        for user_id, rom_id, slot in sorted(slots):
            self._table.update_item(
                Key={"pk": keys.slot_pk(user_id, rom_id, slot), "sk": keys.SLOT_HEAD},
                UpdateExpression="ADD revision :one",
                ExpressionAttributeValues={":one": 1},
            )

    def drop_member(self, user_id: int, rom_id: int, slot: str, member: SlotMember) -> None:
        """Drop a dangling member (its save is gone)."""
        self._table.delete_item(Key={"pk": keys.slot_pk(user_id, rom_id, slot), "sk": member.sk})

    # --- mapping ----------------------------------------------------------------------------------

    def _member_put(self, record: SaveRecord) -> dict[str, Any]:
        assert record.slot is not None
        return {
            "TableName": self._table.name,
            "Item": {
                "pk": keys.slot_pk(record.user_id, record.rom_id, record.slot),
                "sk": keys.slot_member_sk(record.updated_at, record.id),
                "save_id": record.id,
                "updated_at": record.updated_at,
                "content_hash": record.content_hash,
            },
        }


def _member(item: dict[str, Any]) -> SlotMember:
    data = plain(item)
    return SlotMember(
        save_id=int(data["save_id"]),
        updated_at=str(data["updated_at"]),
        content_hash=data.get("content_hash"),
        sk=str(data["sk"]),
    )
