"""Activity entries: one item per (user, device) in the user's partition, expiring by TTL."""

from __future__ import annotations

from typing import Any

from cloudsaves.models.activity import ActivityEntrySchema
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import plain, query_all

_PREFIX = "ACTIVITY#"


class ActivityRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, entry: ActivityEntrySchema, expires_at_epoch: int) -> None:
        item = {
            "pk": keys.owner_pk(entry.user_id),
            "sk": keys.activity_sk(entry.device_id),
            "expires_at_epoch": expires_at_epoch,
            **entry.model_dump(),
        }
        self._table.put_item(Item=item)

    def get(self, user_id: int, device_id: str, now_epoch: int) -> ActivityEntrySchema | None:
        key = {"pk": keys.owner_pk(user_id), "sk": keys.activity_sk(device_id)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _live_entry(item, now_epoch)

    def delete(self, user_id: int, device_id: str) -> None:
        self._table.delete_item(Key={"pk": keys.owner_pk(user_id), "sk": keys.activity_sk(device_id)})

    def list(self, user_id: int, now_epoch: int) -> list[ActivityEntrySchema]:
        """The user's live entries: one Query (one item per device they play on)."""
        from boto3.dynamodb.conditions import Key

        items = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(keys.owner_pk(user_id)) & Key("sk").begins_with(_PREFIX),
        )
        entries = (_live_entry(item, now_epoch) for item in items)
        return [entry for entry in entries if entry is not None]


def _live_entry(item: dict[str, Any] | None, now_epoch: int) -> ActivityEntrySchema | None:
    # TTL deletes late (up to days on AWS): the stored expiry decides.
    if not item or int(item.get("expires_at_epoch", 0)) <= now_epoch:
        return None
    return ActivityEntrySchema.model_validate(plain(item))
