"""The RetroArch door's entries in DynamoDB: one partition per user (`keys.cloud_sync_pk`).

- a mapped entry per (kind, ROM, slot or state file name), sk `ASSET#...`: the newest version any
  client committed (kept current by `note_version`), the RetroArch path bound to it, the plain MD5 of a
  version (RetroArch's hash; `content_hash` is RomM's, which differs for zips) and the door's
  tombstone `deleted_at` (versions newer than it bring the file back).
- a plain file per folded path, sk `FILE#...`: bytes in S3 at a key unique per version; `md5` is ""
  once deleted, and the deleted bytes stay at `object_key`.

The manifest reads the whole partition: a bounded number of Query pages, one item per synced file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.filenames import fold
from cloudsaves.models.assets import Kind
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import conditional_write, plain

# 1 MB a page: 40 pages hold well over 100,000 entries, far beyond any RetroArch install.
MAX_MANIFEST_PAGES = 40


@dataclass(frozen=True)
class AssetEntry:
    kind: Kind
    rom_id: int
    name: str  # the slot (saves) or the state's file name
    path: str | None = None  # the RetroArch path bound to it; None: derived from the ROM
    emulator: str | None = None
    asset_id: int | None = None  # the newest version seen
    content_hash: str | None = None
    updated_at: str | None = None
    md5: str | None = None  # the plain MD5 of the version whose content_hash is `md5_hash`
    md5_hash: str | None = None
    deleted_at: str | None = None


@dataclass(frozen=True)
class FileEntry:
    path: str
    md5: str  # "" when deleted
    size: int
    object_key: str
    updated_at: str
    deleted_at: str | None = None


class ManifestTooLarge(Exception):
    """The user's entries did not fit MAX_MANIFEST_PAGES Query pages."""


class CloudSyncRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def entries(self, user_id: int) -> tuple[list[AssetEntry], list[FileEntry]]:
        """Every entry of the user (strongly consistent), at most MAX_MANIFEST_PAGES Query pages."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": keys.cloud_sync_pk(user_id)},
            "ConsistentRead": True,
        }
        assets: list[AssetEntry] = []
        files: list[FileEntry] = []
        for _ in range(MAX_MANIFEST_PAGES):
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                if str(item["sk"]).startswith("ASSET#"):
                    assets.append(_asset(item))
                else:
                    files.append(_file(item))
            if "LastEvaluatedKey" not in page:
                return assets, files
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        raise ManifestTooLarge(f"user {user_id} has more door entries than {MAX_MANIFEST_PAGES} pages hold")

    def get_asset(self, user_id: int, kind: Kind, rom_id: int, name: str) -> AssetEntry | None:
        item = self._table.get_item(Key=self._asset_key(user_id, kind, rom_id, name), ConsistentRead=True)
        return _asset(item["Item"]) if "Item" in item else None

    def get_file(self, user_id: int, path_key: str) -> FileEntry | None:
        key = {"pk": keys.cloud_sync_pk(user_id), "sk": keys.cloud_sync_file_sk(path_key)}
        item = self._table.get_item(Key=key, ConsistentRead=True)
        return _file(item["Item"]) if "Item" in item else None

    def note_version(self, user_id: int, entry: AssetEntry) -> None:
        """Record a committed version as the newest of its entry, unless a newer one is recorded."""
        try:
            with conditional_write():
                self._table.update_item(
                    Key=self._asset_key(user_id, entry.kind, entry.rom_id, entry.name),
                    UpdateExpression="SET kind = :kind, rom_id = :rom, #name = :name, asset_id = :id, "
                    "content_hash = :hash, updated_at = :at, emulator = if_not_exists(emulator, :emu)",
                    ConditionExpression="attribute_not_exists(updated_at) OR updated_at <= :at",
                    ExpressionAttributeNames={"#name": "name"},
                    ExpressionAttributeValues={
                        ":kind": entry.kind,
                        ":rom": entry.rom_id,
                        ":name": entry.name,
                        ":id": entry.asset_id,
                        ":hash": entry.content_hash,
                        ":at": entry.updated_at,
                        ":emu": entry.emulator,
                    },
                )
        except ConcurrentUpdate:
            pass  # a newer version is already recorded

    def bind(
        self, user_id: int, kind: Kind, rom_id: int, name: str, path: str, md5: str, content_hash: str
    ) -> None:
        """RetroArch wrote this entry at `path`: bind the path, remember the MD5, lift the tombstone."""
        self._table.update_item(
            Key=self._asset_key(user_id, kind, rom_id, name),
            UpdateExpression="SET #path = :path, md5 = :md5, md5_hash = :hash, kind = :kind, rom_id = :rom, "
            "#name = if_not_exists(#name, :name) REMOVE deleted_at",
            ExpressionAttributeNames={"#path": "path", "#name": "name"},
            ExpressionAttributeValues={
                ":path": path,
                ":md5": md5,
                ":hash": content_hash,
                ":kind": kind,
                ":rom": rom_id,
                ":name": name,
            },
        )

    def remember_md5(
        self, user_id: int, kind: Kind, rom_id: int, name: str, md5: str, content_hash: str
    ) -> None:
        """Cache the MD5 of the version whose content_hash is `content_hash` (if the entry still exists)."""
        try:
            with conditional_write():
                self._table.update_item(
                    Key=self._asset_key(user_id, kind, rom_id, name),
                    UpdateExpression="SET md5 = :md5, md5_hash = :hash",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":md5": md5, ":hash": content_hash},
                )
        except ConcurrentUpdate:
            pass  # a cache: nothing to keep it for

    def tombstone_asset(self, user_id: int, entry: AssetEntry, path: str, deleted_at: str) -> None:
        """The door's delete of a mapped file: versions up to `deleted_at` read as deleted."""
        self._table.update_item(
            Key=self._asset_key(user_id, entry.kind, entry.rom_id, entry.name),
            UpdateExpression="SET deleted_at = :at, #path = if_not_exists(#path, :path)",
            ExpressionAttributeNames={"#path": "path"},
            ExpressionAttributeValues={":at": deleted_at, ":path": path},
        )

    def replace_file(
        self,
        user_id: int,
        path_key: str,
        entry: FileEntry,
        seen: FileEntry | None,
        ledger: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Write a plain file's entry over `seen` (None: over nothing); ConcurrentUpdate when the path
        changed meanwhile. `ledger`: the orphan-check ledger's actions, in the same transaction."""
        item = {
            "pk": keys.cloud_sync_pk(user_id),
            "sk": keys.cloud_sync_file_sk(path_key),
            "path": entry.path,
            "md5": entry.md5,
            "size": entry.size,
            "object_key": entry.object_key,
            "updated_at": entry.updated_at,
        }
        if entry.deleted_at is not None:
            item["deleted_at"] = entry.deleted_at
        put: dict[str, Any] = {"TableName": self._table.name, "Item": item}
        if seen is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "object_key = :key AND updated_at = :seen"
            put["ExpressionAttributeValues"] = {":key": seen.object_key, ":seen": seen.updated_at}
        with conditional_write():
            self._table.meta.client.transact_write_items(TransactItems=[{"Put": put}, *ledger])

    @staticmethod
    def _asset_key(user_id: int, kind: Kind, rom_id: int, name: str) -> dict[str, str]:
        return {"pk": keys.cloud_sync_pk(user_id), "sk": keys.cloud_sync_asset_sk(kind, rom_id, fold(name))}


def _asset(item: dict[str, Any]) -> AssetEntry:
    data = plain(item)
    return AssetEntry(
        kind=data["kind"],
        rom_id=int(data["rom_id"]),
        name=str(data["name"]),
        path=data.get("path"),
        emulator=data.get("emulator"),
        asset_id=data.get("asset_id"),
        content_hash=data.get("content_hash"),
        updated_at=data.get("updated_at"),
        md5=data.get("md5"),
        md5_hash=data.get("md5_hash"),
        deleted_at=data.get("deleted_at"),
    )


def _file(item: dict[str, Any]) -> FileEntry:
    data = plain(item)
    return FileEntry(
        path=str(data["path"]),
        md5=str(data.get("md5", "")),
        size=int(data.get("size", 0)),
        object_key=str(data["object_key"]),
        updated_at=str(data["updated_at"]),
        deleted_at=data.get("deleted_at"),
    )
