"""Devices in DynamoDB (pk=`U#<user>`, sk=`DEVICE#<uuid>`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.devices import DeviceRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_get, conditional_write, plain, query_all


class DeviceLabel(NamedTuple):
    """What a save's device_syncs shows of another device."""

    name: str | None
    syncs_reset_at: str | None


class DevicesRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, user_id: int, device_id: str, *, consistent: bool = False) -> DeviceRecord | None:
        item = self._table.get_item(Key=self._key(user_id, device_id), ConsistentRead=consistent).get("Item")
        return _record(item) if item else None

    def list(self, user_id: int) -> list[DeviceRecord]:
        from boto3.dynamodb.conditions import Key

        items = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(keys.owner_pk(user_id)) & Key("sk").begins_with("DEVICE#"),
        )
        return [_record(item) for item in items]

    def create(self, device: DeviceRecord) -> None:
        """Insert a new device; an existing id raises ConcurrentUpdate (the caller draws a new uuid)."""
        with conditional_write():
            self._table.put_item(Item=_item(device), ConditionExpression="attribute_not_exists(pk)")

    def create_write(self, device: DeviceRecord) -> dict[str, Any]:
        """`create` as a TransactWriteItems entry, for use cases committing more with it."""
        put = {
            "TableName": self._table.name,
            "Item": _item(device),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        return {"Put": put}

    def update(self, user_id: int, device_id: str, changes: dict[str, Any], updated_at: str) -> DeviceRecord:
        """Set the given fields and `updated_at`; a missing device raises ConcurrentUpdate."""
        with conditional_write():
            item = self._table.update_item(
                **self._update_request(user_id, device_id, changes, updated_at), ReturnValues="ALL_NEW"
            )["Attributes"]
        return _record(item)

    def update_write(
        self, user_id: int, device_id: str, changes: dict[str, Any], updated_at: str
    ) -> dict[str, Any]:
        """`update` as a TransactWriteItems entry, for use cases committing more with it."""
        return {
            "Update": {
                "TableName": self._table.name,
                **self._update_request(user_id, device_id, changes, updated_at),
            }
        }

    def _update_request(
        self, user_id: int, device_id: str, changes: dict[str, Any], updated_at: str
    ) -> dict[str, Any]:
        values = {**changes, "updated_at": updated_at}
        assignments = ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        return {
            "Key": self._key(user_id, device_id),
            "UpdateExpression": f"SET {assignments}",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {f"#f{i}": field for i, field in enumerate(values)},
            "ExpressionAttributeValues": {
                f":v{i}": _stored(field, value) for i, (field, value) in enumerate(values.items())
            },
        }

    def touch_last_seen(self, user_id: int, device_id: str, seen_at: str) -> None:
        """Move `last_seen`; a device deleted meanwhile is left deleted."""
        try:
            with conditional_write():
                self._table.update_item(
                    Key=self._key(user_id, device_id),
                    UpdateExpression="SET last_seen = :t",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":t": seen_at},
                )
        except ConcurrentUpdate:
            pass

    def delete(self, user_id: int, device_id: str) -> bool:
        """Delete the device; false when it did not exist."""
        try:
            with conditional_write():
                self._table.delete_item(
                    Key=self._key(user_id, device_id), ConditionExpression="attribute_exists(pk)"
                )
        except ConcurrentUpdate:
            return False
        return True

    def labels(self, user_id: int, device_ids: Iterable[str]) -> dict[str, DeviceLabel]:
        """Name and sync reset of the user's devices among `device_ids` (BatchGetItem; absent omitted)."""
        items = batch_get(
            self._table,
            [self._key(user_id, device_id) for device_id in sorted(set(device_ids))],
            ProjectionExpression="id, #n, syncs_reset_at",
            ExpressionAttributeNames={"#n": "name"},
        )
        return {item["id"]: DeviceLabel(item.get("name"), item.get("syncs_reset_at")) for item in items}

    @staticmethod
    def _key(user_id: int, device_id: str) -> dict[str, str]:
        return {"pk": keys.owner_pk(user_id), "sk": keys.device_sk(device_id)}


def _stored(field: str, value: Any) -> Any:
    # sync_config is free-form JSON (floats, empty strings, nesting): kept as a JSON string.
    if field == "sync_config":
        return None if value is None else json.dumps(value, separators=(",", ":"))
    return value


def _item(device: DeviceRecord) -> dict[str, Any]:
    data = device.model_dump(mode="json")
    data["sync_config"] = _stored("sync_config", data["sync_config"])
    return {"pk": keys.owner_pk(device.user_id), "sk": keys.device_sk(device.id), **data}


def _record(item: dict[str, Any]) -> DeviceRecord:
    data = {k: v for k, v in plain(item).items() if k in DeviceRecord.model_fields}
    if isinstance(data.get("sync_config"), str):
        data["sync_config"] = json.loads(data["sync_config"])
    return DeviceRecord.model_validate(data)
