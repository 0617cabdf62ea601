"""The orphan-check ledger: a note for every object whose bytes may end up referenced by no record.

- `pending`: bytes about to be written at a final key, noted before the write. The commit that makes a
  record point at them deletes the note in its own transaction, so a note still there after the
  longest Lambda run proves that no record ever pointed at them.
- `retired`: bytes a record stops pointing at (replaced or deleted), noted in the commit's transaction
  or just before the delete, naming the record and attribute that held the key: they are orphans once
  that attribute no longer holds the key.

Items: pk `ORPHANCHECK#<hour>#<shard>` (`keys.orphan_check_pk`), sk the object key, a TTL as a
safety net. The sweep's progress: pk `ORPHANCHECK#CURSOR`, sk PROFILE, `hour` (the oldest unswept).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from cloudsaves.clock import iso, parse_iso
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_write, plain

# Far beyond the sweep's delay (an hour) and any outage it should survive; only a safety net.
NOTE_TTL = timedelta(days=14)

Purpose = Literal["pending", "retired"]


@dataclass(frozen=True)
class Reference:
    """Where a record names an object key: the item's table key and the attribute path."""

    pk: str
    sk: str
    attribute: str  # "object_key" or "screenshot.object_key"


@dataclass(frozen=True)
class LedgerNote:
    object_key: str
    purpose: Purpose
    noted_at: str  # ISO timestamp; its hour files the note
    reference: Reference | None = None  # retired notes: the record that held the key

    @property
    def hour(self) -> str:
        return keys.orphan_check_hour(self.noted_at)

    @property
    def table_key(self) -> dict[str, str]:
        return {"pk": keys.orphan_check_pk(self.hour, self.object_key), "sk": self.object_key}


class ObjectLedger:
    def __init__(self, table: Any) -> None:
        self._table = table

    # --- writers ------------------------------------------------------------------------------------

    def note(self, notes: Sequence[LedgerNote]) -> None:
        """File notes ahead of the write they guard (one PutItem, or BatchWriteItem for several)."""
        if len(notes) == 1:
            self._table.put_item(Item=self._item(notes[0]))
            return
        batch_write(self._table, [{"PutRequest": {"Item": self._item(n)}} for n in notes])

    def put_action(self, note: LedgerNote) -> dict[str, Any]:
        """The note as a TransactWriteItems action (filed with the commit that retires its bytes)."""
        return {"Put": {"TableName": self._table.name, "Item": self._item(note)}}

    def settle_action(self, note: LedgerNote) -> dict[str, Any]:
        """Deleting a pending note as a TransactWriteItems action: the commit references its bytes."""
        return {"Delete": {"TableName": self._table.name, "Key": note.table_key}}

    def forget(self, notes: Iterable[LedgerNote]) -> None:
        """Drop notes whose bytes were dealt with (BatchWriteItem)."""
        unique = {n.table_key["pk"] + "\n" + n.object_key: n for n in notes}
        batch_write(self._table, [{"DeleteRequest": {"Key": n.table_key}} for n in unique.values()])

    # --- the sweep ----------------------------------------------------------------------------------

    def notes_in(self, hour: str, shard: int, limit: int) -> list[LedgerNote]:
        """Up to `limit` notes of one shard of one hour (strongly consistent)."""
        page = self._table.query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": keys.orphan_check_shard_pk(hour, shard)},
            ConsistentRead=True,
            Limit=limit,
        )
        return [_note(item) for item in page.get("Items", [])]

    def holds_key(self, reference: Reference, object_key: str) -> bool:
        """Whether the record still names `object_key` at that attribute (strongly consistent)."""
        parts = reference.attribute.split(".")
        names = {f"#a{i}": part for i, part in enumerate(parts)}
        item = self._table.get_item(
            Key={"pk": reference.pk, "sk": reference.sk},
            ConsistentRead=True,
            ProjectionExpression=".".join(names),
            ExpressionAttributeNames=names,
        ).get("Item")
        value: Any = item
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        return value == object_key

    def cursor(self) -> str | None:
        key = {"pk": keys.ORPHAN_CHECK_CURSOR_PK, "sk": keys.PROFILE}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return str(item["hour"]) if item else None

    def set_cursor(self, hour: str) -> None:
        self._table.put_item(Item={"pk": keys.ORPHAN_CHECK_CURSOR_PK, "sk": keys.PROFILE, "hour": hour})

    # --- mapping ------------------------------------------------------------------------------------

    def _item(self, note: LedgerNote) -> dict[str, Any]:
        item: dict[str, Any] = {
            **note.table_key,
            "purpose": note.purpose,
            "noted_at": note.noted_at,
            "expires_at_epoch": int((parse_iso(note.noted_at) + NOTE_TTL).timestamp()),
        }
        if note.reference is not None:
            item["ref_pk"] = note.reference.pk
            item["ref_sk"] = note.reference.sk
            item["ref_attribute"] = note.reference.attribute
        return item


def pending_note(object_key: str, noted_at: str) -> LedgerNote:
    return LedgerNote(object_key, "pending", noted_at)


def retired_note(object_key: str, reference: Reference, noted_at: str) -> LedgerNote:
    return LedgerNote(object_key, "retired", noted_at, reference)


def next_hour(hour: str) -> str:
    return iso(parse_iso(f"{hour}:00:00+00:00") + timedelta(hours=1))[:13]


def _note(item: dict[str, Any]) -> LedgerNote:
    data = plain(item)
    reference = (
        Reference(str(data["ref_pk"]), str(data["ref_sk"]), str(data["ref_attribute"]))
        if "ref_pk" in data
        else None
    )
    return LedgerNote(str(data["sk"]), data["purpose"], str(data["noted_at"]), reference)
