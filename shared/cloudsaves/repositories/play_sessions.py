"""Play sessions in DynamoDB.

Items (see `keys`):
- the session: pk `PLAYSESSION#<id>`, sk PROFILE (`models.play_sessions.PlaySessionRecord`); gsi1 = the
  user's sessions ordered by `<start_time>#<id>`, so newest-first and time windows are key conditions.
- its duplicate claim: pk `U#<user>`, sk `PLAYKEY#<device>#<rom>#<start_time>` (RomM's duplicate key),
  written in the same transaction with `attribute_not_exists`: a re-sent session is never stored twice,
  even when two uploads of the same batch race.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.play_sessions import PlaySessionRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_get, conditional_write, plain

_TRANSACTION_SESSIONS = 50  # two actions each; a transaction holds 100


# RomM's duplicate key of a play session: (device_id, rom_id, start_time), per user.
Claim = tuple[str | None, int | None, str]


def claim_of(record: PlaySessionRecord) -> Claim:
    return (record.device_id, record.rom_id, record.start_time)


def claim_key(record: PlaySessionRecord) -> dict[str, str]:
    return {
        "pk": keys.owner_pk(record.user_id),
        "sk": keys.play_session_claim_sk(record.device_id, record.rom_id, record.start_time),
    }


class PlaySessionsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def taken(self, user_id: int, claims: Sequence[Claim]) -> set[Claim]:
        """The (device_id, rom_id, start_time) among `claims` that a stored session holds (BatchGetItem)."""
        by_sk = {keys.play_session_claim_sk(*claim): claim for claim in claims}
        item_keys = [{"pk": keys.owner_pk(user_id), "sk": sk} for sk in sorted(by_sk)]
        items = batch_get(self._table, item_keys, ProjectionExpression="sk", ConsistentRead=True)
        return {by_sk[item["sk"]] for item in items}

    def add_all(self, records: Sequence[PlaySessionRecord]) -> set[int]:
        """Store the sessions; the ids of those that turned out to be duplicates (claimed meanwhile)."""
        duplicates: set[int] = set()
        for start in range(0, len(records), _TRANSACTION_SESSIONS):
            chunk = records[start : start + _TRANSACTION_SESSIONS]
            try:
                self._transact([action for record in chunk for action in self._puts(record)])
            except ConcurrentUpdate:
                # Someone claimed one of them meanwhile: store them one by one to learn which.
                for record in chunk:
                    try:
                        self._transact(self._puts(record))
                    except ConcurrentUpdate:
                        duplicates.add(record.id)
        return duplicates

    def get(self, session_id: int) -> PlaySessionRecord | None:
        item = self._table.get_item(
            Key={"pk": keys.play_session_pk(session_id), "sk": keys.PROFILE}, ConsistentRead=True
        ).get("Item")
        return _record(item) if item else None

    def delete(self, record: PlaySessionRecord) -> bool:
        """Delete the session and its claim; false when it was already gone."""
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": {"pk": keys.play_session_pk(record.id), "sk": keys.PROFILE},
                            "ConditionExpression": "user_id = :u",
                            "ExpressionAttributeValues": {":u": record.user_id},
                        }
                    },
                    {"Delete": {"TableName": self._table.name, "Key": claim_key(record)}},
                ]
            )
        except ConcurrentUpdate:
            return False
        return True

    def newest_first(
        self, user_id: int, *, start_from: str | None, start_until: str | None, filters: dict[str, Any]
    ) -> Iterator[PlaySessionRecord]:
        """The user's sessions by `start_time`, newest first, within the window, matching `filters`."""
        condition = "gsi1pk = :p"
        values: dict[str, Any] = {":p": keys.user_play_sessions_gsi1pk(user_id)}
        if start_from is not None and start_until is not None:
            condition += " AND gsi1sk BETWEEN :lo AND :hi"
            values |= {":lo": start_from, ":hi": start_until + "#~"}
        elif start_from is not None:
            condition += " AND gsi1sk >= :lo"
            values[":lo"] = start_from
        elif start_until is not None:
            condition += " AND gsi1sk <= :hi"
            values[":hi"] = start_until + "#~"  # '~' sorts after every id: equal start times are in
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        names: dict[str, str] = {}
        clauses = []
        for index, (name, value) in enumerate(sorted(filters.items())):
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
            clauses.append(f"#f{index} = :f{index}")
        if clauses:
            kwargs["FilterExpression"] = " AND ".join(clauses)
            kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = values
        while True:
            page = self._table.query(**kwargs)
            yield from (_record(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _puts(self, record: PlaySessionRecord) -> list[dict[str, Any]]:
        item = {
            "pk": keys.play_session_pk(record.id),
            "sk": keys.PROFILE,
            "gsi1pk": keys.user_play_sessions_gsi1pk(record.user_id),
            "gsi1sk": f"{record.start_time}#{keys.sortable_int(record.id)}",
            **record.model_dump(mode="json"),
        }
        return [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {**claim_key(record), "session_id": record.id},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        with conditional_write():
            self._table.meta.client.transact_write_items(TransactItems=actions)


def _record(item: dict[str, Any]) -> PlaySessionRecord:
    return PlaySessionRecord.model_validate(
        {k: v for k, v in plain(item).items() if k in PlaySessionRecord.model_fields}
    )
