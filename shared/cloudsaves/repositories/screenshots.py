"""Gallery screenshots: the record (by id) and the claim on its file name (user, ROM, name), kept together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloudsaves.models.screenshots import ScreenshotRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import conditional_write, plain

_NEW = "attribute_not_exists(pk)"


class ScreenshotsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, screenshot_id: int) -> ScreenshotRecord | None:
        key = {"pk": keys.screenshot_pk(screenshot_id), "sk": keys.PROFILE}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return ScreenshotRecord.model_validate(plain(item)) if item else None

    def find_by_name(self, user_id: int, rom_id: int, file_name: str) -> ScreenshotRecord | None:
        key = {"pk": keys.screenshot_name_pk(user_id, rom_id, file_name), "sk": keys.PROFILE}
        claim = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return self.get(int(claim["screenshot_id"])) if claim else None

    def create(self, shot: ScreenshotRecord, ledger: Sequence[dict[str, Any]] = ()) -> None:
        """Record and name claim together; ConcurrentUpdate when either exists (the caller re-reads).

        `ledger`: the orphan-check ledger's actions, committed in the same transaction (every writer here).
        """
        name = self._table.name
        claim = {
            "pk": keys.screenshot_name_pk(shot.user_id, shot.rom_id, shot.file_name),
            "sk": keys.PROFILE,
            "screenshot_id": shot.id,
        }
        with conditional_write():
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": name, "Item": _item(shot), "ConditionExpression": _NEW}},
                    {"Put": {"TableName": name, "Item": claim, "ConditionExpression": _NEW}},
                    *ledger,
                ]
            )

    def replace_file(
        self, old: ScreenshotRecord, new: ScreenshotRecord, ledger: Sequence[dict[str, Any]] = ()
    ) -> None:
        """New bytes for the same screenshot, if nobody changed (replaced, shared) or deleted it since `old`
        was read: every write moves `updated_at`."""
        put = {
            "TableName": self._table.name,
            "Item": _item(new),
            "ConditionExpression": "object_key = :key AND updated_at = :seen",
            "ExpressionAttributeValues": {":key": old.object_key, ":seen": old.updated_at},
        }
        with conditional_write():
            self._table.meta.client.transact_write_items(TransactItems=[{"Put": put}, *ledger])

    def set_public(self, shot: ScreenshotRecord, is_public: bool, updated_at: str) -> ScreenshotRecord:
        """ConcurrentUpdate when it was deleted meanwhile."""
        with conditional_write():
            item = self._table.update_item(
                Key={"pk": keys.screenshot_pk(shot.id), "sk": keys.PROFILE},
                UpdateExpression="SET is_public = :p, updated_at = :t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":p": is_public, ":t": updated_at},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        return ScreenshotRecord.model_validate(plain(item))

    def delete(self, shot: ScreenshotRecord, ledger: Sequence[dict[str, Any]] = ()) -> None:
        """Record and claim go together; ConcurrentUpdate when it was deleted meanwhile."""
        name = self._table.name
        with conditional_write():
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": name,
                            "Key": {"pk": keys.screenshot_pk(shot.id), "sk": keys.PROFILE},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": name,
                            "Key": {
                                "pk": keys.screenshot_name_pk(shot.user_id, shot.rom_id, shot.file_name),
                                "sk": keys.PROFILE,
                            },
                        }
                    },
                    *ledger,
                ]
            )


def _item(shot: ScreenshotRecord) -> dict[str, Any]:
    return {"pk": keys.screenshot_pk(shot.id), "sk": keys.PROFILE, **shot.model_dump()}
