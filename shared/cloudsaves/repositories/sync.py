"""Sync protocol items in DynamoDB: sync sessions, tombstones, and negotiate's read of the slots index.

Items (see `keys`):
- a sync session: pk `U#<user>`, sk `SYNCSESSION#<id>` (ids grow with time: the user's sessions
  newest first are one Query); gsi1 = the device's sessions; gsi2 (sparse) = the device's open
  sessions, set while PENDING / IN_PROGRESS and removed when a session ends, so negotiate finds the
  sessions to cancel in one Query however long the history. Sessions expire through the table's TTL.
- a tombstone: pk `U#<user>`, sk `TOMBSTONE#SAVE#<rom_id>#<slot>` (`models.sync.Tombstone`).
- negotiate reads the user's slotted saves (or states) from the `slots` index, whose projection
  holds only what pairing needs: a 1 MB Query page carries about 1,700 saves (whole items: under 1,000).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cloudsaves.clock import utcnow
from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.sync import OPEN_STATUSES, SyncSessionSchema, SyncSessionStatus, Tombstone
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_write, conditional_write, plain, query_all

SYNC_SESSION_TTL_SECONDS = 90 * 24 * 3600
# A transaction holds 100 actions: the new session, the device, and the sessions it cancels.
MAX_CANCELLED_PER_NEGOTIATE = 98
_INDEXED = "id, rom_id, slot, file_name, emulator, content_hash, updated_at, file_size_bytes, object_key"


@dataclass(frozen=True)
class IndexedFile:
    """A save or state as the `slots` index holds it, with one device's sync record (if any)."""

    id: int
    rom_id: int
    slot: str | None
    file_name: str
    emulator: str | None
    content_hash: str | None
    updated_at: str
    file_size_bytes: int
    object_key: str
    last_synced_at: str | None = None
    is_untracked: bool = False


class SyncRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    # --- negotiate's reads ------------------------------------------------------------------------

    def indexed_files(self, kind: str, user_id: int, device_id: str | None) -> list[IndexedFile]:
        """Every slotted save (kind "save") or state of the user, with `device_id`'s sync records."""
        kwargs: dict[str, Any] = {
            "IndexName": "slots",
            "KeyConditionExpression": "slotspk = :p",
            "ExpressionAttributeValues": {":p": keys.slots_index_pk(kind, user_id)},
            "ProjectionExpression": _INDEXED,
        }
        if device_id is not None:
            kwargs["ProjectionExpression"] += ", syncs.#dev"
            kwargs["ExpressionAttributeNames"] = {"#dev": device_id}
        return [_indexed(item, device_id) for item in query_all(self._table, **kwargs)]

    def tombstones(self, user_id: int) -> list[Tombstone]:
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :t)",
            ExpressionAttributeValues={":p": keys.owner_pk(user_id), ":t": keys.TOMBSTONE_PREFIX},
        )
        return [Tombstone.model_validate(_fields(item, Tombstone)) for item in items]

    def put_tombstones(self, user_id: int, tombstones: Iterable[Tombstone]) -> None:
        """Write (or replace) tombstones: the newest deletion of a slot is the one that counts."""
        items = [
            {
                "pk": keys.owner_pk(user_id),
                "sk": keys.tombstone_sk(t.kind, t.rom_id, t.slot),
                **t.model_dump(mode="json"),
            }
            for t in tombstones
        ]
        batch_write(self._table, [{"PutRequest": {"Item": i}} for i in items])

    # --- sessions ---------------------------------------------------------------------------------

    def open_session_ids(self, user_id: int, device_id: str) -> list[int]:
        """The device's PENDING / IN_PROGRESS sessions (the sparse gsi2 partition)."""
        page = self._table.query(
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :p",
            ExpressionAttributeValues={":p": keys.open_sessions_gsi2pk(user_id, device_id)},
            ProjectionExpression="id",
            Limit=MAX_CANCELLED_PER_NEGOTIATE,
        )
        return [int(item["id"]) for item in page.get("Items", [])]

    def start_session(self, session: SyncSessionSchema, cancel_ids: Iterable[int], now: str) -> None:
        """Open `session`, cancel `cancel_ids` and move the device's `last_seen`, all or nothing.

        ConcurrentUpdate when the device is gone or a session to cancel ended meanwhile.
        """
        user_pk = keys.owner_pk(session.user_id)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": self._session_item(session),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": user_pk, "sk": keys.device_sk(session.device_id)},
                    "UpdateExpression": "SET last_seen = :now",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":now": now},
                }
            },
        ]
        for session_id in cancel_ids:
            actions.append(
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": {"pk": user_pk, "sk": keys.sync_session_sk(session_id)},
                        "UpdateExpression": "SET #s = :cancelled, completed_at = :now, updated_at = :now "
                        "REMOVE gsi2pk, gsi2sk",
                        "ConditionExpression": "#s IN (:pending, :in_progress)",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":cancelled": SyncSessionStatus.CANCELLED.value,
                            ":now": now,
                            ":pending": SyncSessionStatus.PENDING.value,
                            ":in_progress": SyncSessionStatus.IN_PROGRESS.value,
                        },
                    }
                }
            )
        with conditional_write():
            self._table.meta.client.transact_write_items(TransactItems=actions)

    def get_session(self, user_id: int, session_id: int) -> SyncSessionSchema | None:
        item = self._table.get_item(
            Key={"pk": keys.owner_pk(user_id), "sk": keys.sync_session_sk(session_id)}, ConsistentRead=True
        ).get("Item")
        return _session(item) if item else None

    def list_sessions(self, user_id: int, device_id: str | None, limit: int) -> list[SyncSessionSchema]:
        """The user's (or one device's) sessions, newest first, at most `limit`."""
        if device_id is None:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": keys.owner_pk(user_id), ":s": keys.SYNC_SESSION_PREFIX},
            }
        else:
            kwargs = {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p",
                "ExpressionAttributeValues": {":p": keys.device_sessions_gsi1pk(user_id, device_id)},
            }
        sessions: list[SyncSessionSchema] = []
        while len(sessions) < limit:
            page = self._table.query(ScanIndexForward=False, Limit=limit - len(sessions), **kwargs)
            sessions.extend(_session(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sessions

    def complete_session(
        self, user_id: int, session_id: int, completed: int, failed: int, now: str
    ) -> SyncSessionSchema:
        """COMPLETED with the client's counts, if still open (ConcurrentUpdate otherwise)."""
        with conditional_write():
            item = self._table.update_item(
                Key={"pk": keys.owner_pk(user_id), "sk": keys.sync_session_sk(session_id)},
                UpdateExpression="SET #s = :done, operations_completed = :c, operations_failed = :f, "
                "completed_at = :now, updated_at = :now REMOVE gsi2pk, gsi2sk",
                ConditionExpression="#s IN (:pending, :in_progress)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":done": SyncSessionStatus.COMPLETED.value,
                    ":c": completed,
                    ":f": failed,
                    ":now": now,
                    ":pending": SyncSessionStatus.PENDING.value,
                    ":in_progress": SyncSessionStatus.IN_PROGRESS.value,
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        return _session(item)

    def count_completed_operation(self, user_id: int, session_id: int, now: str) -> bool:
        """One more completed operation on an existing session, whatever its status (RomM); false if none."""
        try:
            with conditional_write():
                self._table.update_item(
                    Key={"pk": keys.owner_pk(user_id), "sk": keys.sync_session_sk(session_id)},
                    UpdateExpression="ADD operations_completed :one SET updated_at = :now",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":one": 1, ":now": now},
                )
        except ConcurrentUpdate:
            return False
        return True

    def _session_item(self, session: SyncSessionSchema) -> dict[str, Any]:
        order = keys.sortable_int(session.id)
        item: dict[str, Any] = {
            "pk": keys.owner_pk(session.user_id),
            "sk": keys.sync_session_sk(session.id),
            "gsi1pk": keys.device_sessions_gsi1pk(session.user_id, session.device_id),
            "gsi1sk": order,
            "expires_at_epoch": int(utcnow().timestamp()) + SYNC_SESSION_TTL_SECONDS,
            **session.model_dump(mode="json"),
        }
        if session.status in OPEN_STATUSES:
            item["gsi2pk"] = keys.open_sessions_gsi2pk(session.user_id, session.device_id)
            item["gsi2sk"] = order
        return item


def _fields(item: dict[str, Any], model: Any) -> dict[str, Any]:
    return {k: v for k, v in plain(item).items() if k in model.model_fields}


def _session(item: dict[str, Any]) -> SyncSessionSchema:
    return SyncSessionSchema.model_validate(_fields(item, SyncSessionSchema))


def _indexed(item: dict[str, Any], device_id: str | None) -> IndexedFile:
    data = plain(item)
    sync = (data.get("syncs") or {}).get(device_id) if device_id is not None else None
    return IndexedFile(
        id=int(data["id"]),
        rom_id=int(data["rom_id"]),
        slot=data.get("slot"),
        file_name=str(data["file_name"]),
        emulator=data.get("emulator"),
        content_hash=data.get("content_hash"),
        updated_at=str(data["updated_at"]),
        file_size_bytes=int(data.get("file_size_bytes", 0)),
        object_key=str(data["object_key"]),
        last_synced_at=sync.get("last_synced_at") if sync else None,
        is_untracked=bool(sync.get("is_untracked")) if sync else False,
    )
