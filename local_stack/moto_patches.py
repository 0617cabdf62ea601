"""Changes to moto's server-side models, for the local stack only (the functions never see them).

- ``TransactWriteItems`` rolls back by restoring the items it touched: moto 5.2 deep-copies the whole
  table once per item of every transaction (about 90 ms and 3.5 MiB per copy at 1,400 items), which made
  each write slower as the table grew and the process grow by gigabytes. Real DynamoDB does nothing like
  it; the answers are unchanged.
- A Query on a table's own key reads that partition, not every item of the table; a projection of
  top-level names picks them (moto converted the whole item once per name: 200 ms for a page of 100).
- Item sizes (each write's 400 KB check, a query's 1 MB page) are computed without rebuilding every
  nested map once per level.
- Items go out as the DynamoDB JSON they already are: moto's model-driven serializer walked every
  attribute of every item (about 450 ms for a page of 100 items), and its conversion to plain values
  asked every string whether it had a ``to_json`` (about 9 ms of the same page).
- ListObjectVersions no longer deep-copies every version of every key of the bucket (each copy read
  and rewrote the object's bytes) to mark which version is the latest: it marks lightweight views.
- Two lookups moto repeated on every request are made once: the list of its service modules (about
  60 directory stats per request) and a response class's method names (``inspect.getmembers``).
- Every item and object a request writes is reported to the attached ``DataStore``, and object bytes
  live in the data directory's blob files instead of moto's in-memory buffers.

``install()`` applies them once per process; ``attach(store)`` points the capture at a data directory
(``None``: moto's own in-memory behaviour).
"""

from __future__ import annotations

import copy
import functools
import tempfile
import threading
import types
from collections.abc import Callable
from typing import Any

from local_stack.persistence import DataStore, wire_json

MOTO_VERSION = "5.2.5"  # the patches reach into moto's internals: check each one when upgrading it
_installed = False
_store: DataStore | None = None
_copying_table_for_rollback = threading.local()
_moto_dynamo_to_dict: Callable[[Any], Any]
_DynamoType: type
_moto_size: Callable[[Any], int]


def attach(store: DataStore | None) -> None:
    global _store
    _store = store


def install() -> None:
    global _installed
    if _installed:
        return
    from importlib.metadata import version

    if version("moto") != MOTO_VERSION:
        raise RuntimeError(
            f"local_stack.moto_patches was written for moto {MOTO_VERSION}, not {version('moto')}: "
            "check each patch against the new version, then update MOTO_VERSION"
        )
    from moto.dynamodb.models.dynamo_type import DynamoType

    global _DynamoType
    _DynamoType = DynamoType
    _patch_transactions()
    _patch_table_query()
    _patch_item_serialization()
    _patch_version_listing()
    _patch_per_request_lookups()
    _patch_capture()
    _installed = True


def _patch_transactions() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def deepcopy(value: Any, memo: Any = None) -> Any:
        # The original's whole-table "backup" becomes the table itself; rollback is done below instead.
        if getattr(_copying_table_for_rollback, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[attr-defined]

    def touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        """(table, hash key, range key, deep copy of the item or None) for each item the transaction names."""
        before = []
        for entry in transact_items:
            try:
                operation = next(iter(entry.values()))
                table = backend.tables[operation["TableName"]]
                key = operation["Item"] if "Item" in operation else operation["Key"]
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                item = table.get_item(hash_key, range_key)
            except Exception:
                continue  # malformed: moto rejects it before writing anything
            before.append((table, hash_key, range_key, copy.deepcopy(item)))
        return before

    def put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = touched(self, transact_items)
        _copying_table_for_rollback.active = True
        try:
            original(self, transact_items)
        except Exception:
            for state in reversed(before):
                put_back(*state)
            raise
        finally:
            _copying_table_for_rollback.active = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _patch_table_query() -> None:
    """A Query reads one partition of the table, not all its items (on an index: the items whose index key
    matches, compared as stored, where moto sorted the whole table and then compared every item, about
    10 ms per 1,000 items). It computes each item's size once (moto summed it twice per item,
    recursively, rebuilding every nested map: ``attribute_size``), and deep-copies neither the page it
    returns nor the attributes a projection picks (the response only reads them)."""
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    original_size = Item.size
    querying = threading.local()

    def all_items(self: Any) -> Any:
        if getattr(querying, "partition_of", None) is self:
            found = self.items.get(querying.hash_key)
            if found is None:
                return []
            return list(found.values()) if self.range_key_attr else [found]
        if getattr(querying, "index_of", None) is self:
            # moto checks these conditions again on what this returns, then sorts it by the index's and
            # the table's keys: this only skips the other items, and moto's sort of the whole table.
            (name, raw), *others = querying.index_key
            partitions = self.items.values()
            items = [i for p in partitions for i in p.values()] if self.range_key_attr else list(partitions)
            found = [
                item for item in items if (value := item.attrs.get(name)) is not None and value.value == raw
            ]
            for name, raw in others:  # a multi-attribute key: its other parts, among the few left
                found = [
                    item
                    for item in found
                    if (value := item.attrs.get(name)) is not None and value.value == raw
                ]
            return found
        return original_all_items(self)

    def size(self: Any) -> int:
        sizes = getattr(querying, "sizes", None)
        if sizes is None:
            return original_size(self)
        if id(self) not in sizes:
            sizes[id(self)] = original_size(self)
        return sizes[id(self)]  # type: ignore[no-any-return]

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(querying, "sizes", None) is not None and isinstance(value, list):
            return list(value)
        return copy.deepcopy(value, memo)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
        #             scan_index_forward, projection_expressions, index_name, ...)
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        querying.partition_of = None if index_name or hash_key is None else self
        # An index's key, when every part of it is a string or binary: stored as given, so equal values
        # are equal as stored (numbers are not: "1" and "1.0" are the same number).
        conditions = kwargs.get("hash_key_conditions") or []
        exact = index_name and conditions and all(value.type in ("S", "B") for _, value in conditions)
        querying.index_of = self if exact else None
        querying.index_key = [(name, value.value) for name, value in conditions]
        querying.hash_key, querying.sizes = hash_key, {}
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            querying.partition_of = querying.index_of = querying.hash_key = querying.sizes = None

    table_module.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Item.size = size  # type: ignore[method-assign]
    global _moto_size
    _moto_size = _DynamoType.size  # type: ignore[attr-defined]
    _DynamoType.size = attribute_size  # type: ignore[attr-defined]
    original_project = Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        if any(len(path) != 1 for path in projection_expressions):
            return original_project(self, projection_expressions)
        # Top-level names only (all the service projects): picked, where moto converted the whole item to
        # plain JSON once per name.
        projected = Item.__new__(Item)
        projected.hash_key, projected.range_key = self.hash_key, self.range_key
        projected.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        named = {path[0] for path in projection_expressions}
        dict.update(projected.attrs, {name: value for name, value in self.attrs.items() if name in named})
        return projected

    Item.project = project  # type: ignore[method-assign]


def attribute_size(value: Any) -> int:
    """moto's ``DynamoType.size`` without building a new DynamoType for every member of a map (moto
    rebuilt each nested map once per level: most of a query's and of every write's size checks)."""
    kind, raw = value.type, value.value
    if kind == "N":
        return len(str(raw))
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(member)) if kind == "NS" else _bytesize(member) for member in raw)
    if kind == "L":
        return sum(attribute_size(_as_type(member)) for member in raw)
    if kind == "M":
        return sum(_bytesize(key) + attribute_size(_as_type(member)) for key, member in raw.items())
    if isinstance(raw, bool):
        return 1
    return _bytesize(raw)


def _bytesize(value: str | bytes) -> int:
    return len(value if isinstance(value, bytes) else value.encode("utf-8"))


def _as_type(value: Any) -> Any:
    return value if isinstance(value, _DynamoType) else _DynamoType(value)


def _patch_item_serialization() -> None:
    import json

    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb import responses
    from moto.dynamodb.models import utilities

    global _moto_dynamo_to_dict
    _moto_dynamo_to_dict = utilities.dynamo_to_dict

    original = BaseJSONSerializer._serialize_type_map

    def serialize_map(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if getattr(shape.value, "name", None) == "AttributeValue" and isinstance(value, dict):
            self._default_serialize(serialized, value, shape, key)  # already DynamoDB JSON
        else:
            original(self, serialized, value, shape, key)

    def serialize_body(self: Any, body: Any) -> str:
        return json.dumps(body, indent=4 if self.pretty_print else None, default=wire_json)

    BaseJSONSerializer._serialize_type_map = serialize_map  # type: ignore[method-assign]
    BaseJSONSerializer._serialize_body = serialize_body  # type: ignore[method-assign]
    utilities.dynamo_to_dict = responses.dynamo_to_dict = dynamo_to_dict


def dynamo_to_dict(value: Any) -> Any:
    """moto's ``dynamo_to_dict`` (the result of every DynamoDB request, made plain), with the JSON
    leaves and containers that are most of a page handled first: moto asked ``hasattr(value, "to_json")``
    of every string. The same answer; moto's own code does the rest (binary values, Items, datetimes)
    and recurses back through this function."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {key: dynamo_to_dict(item) for key, item in value.items()}
    if kind is list:
        return [dynamo_to_dict(item) for item in value]
    if kind is _DynamoType and value.type not in ("B", "BS"):  # moto decodes binary values
        return {value.type: dynamo_to_dict(value.value)}
    return _moto_dynamo_to_dict(value)


def _patch_version_listing() -> None:
    from moto.s3 import models as s3_models

    class VersionView(s3_models.FakeKey):
        """A FakeKey sharing a stored version's attributes and bytes; it owns nothing to dispose of."""

        def dispose(self, garbage: bool = False) -> None:
            pass

        def __del__(self) -> None:
            pass

    def view(version: Any) -> Any:
        if isinstance(version, s3_models.FakeKey):
            copied: Any = VersionView.__new__(VersionView)
        else:
            copied = object.__new__(type(version))  # a delete marker: plain attributes
        copied.__dict__.update(version.__dict__)
        return copied

    def deepcopy(value: Any, memo: Any = None) -> Any:
        # list_object_versions' only deep copy: one key's versions, copied so it can set is_latest.
        if isinstance(value, list):
            return [view(version) for version in value]
        return copy.deepcopy(value, memo)

    s3_models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[attr-defined]


def _patch_per_request_lookups() -> None:
    from moto import backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)


def _after(cls: Any, name: str, report: Callable[..., None]) -> None:
    """Wrap ``cls.name`` so that ``report(self, *args, **kwargs)`` runs after it, whatever it raised."""
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            if _store is not None:
                report(self, *args, **kwargs)

    setattr(cls, name, wrapper)


def _patch_capture() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3 import models as s3_models

    def item_by_attributes(backend: Any, table_name: str, attrs: dict[str, Any], *_: Any, **__: Any) -> None:
        table = backend.tables.get(table_name)
        if table is None or table.hash_key_attr not in attrs:
            return
        names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        assert _store is not None
        _store.item_written(table_name, {name: attrs[name] for name in names if name in attrs})

    def item_by_key(backend: Any, table_name: str, key: dict[str, Any], *_: Any, **__: Any) -> None:
        assert _store is not None
        _store.item_written(table_name, key)

    def object_by_name(backend: Any, bucket_name: str, key_name: str, *_: Any, **__: Any) -> None:
        assert _store is not None
        _store.object_written(bucket_name, key_name)

    _after(DynamoDBBackend, "put_item", item_by_attributes)
    _after(DynamoDBBackend, "update_item", item_by_key)
    _after(DynamoDBBackend, "delete_item", item_by_key)
    _after(s3_models.S3Backend, "put_object", object_by_name)
    _after(s3_models.S3Backend, "delete_object", object_by_name)

    def spooled_file(*args: Any, **kwargs: Any) -> Any:
        if _store is None:
            return tempfile.SpooledTemporaryFile(*args, **kwargs)
        return _store.new_blob()

    # FakeKey makes its value buffer with tempfile.SpooledTemporaryFile; give it a blob file instead.
    s3_models.tempfile = types.SimpleNamespace(SpooledTemporaryFile=spooled_file)  # type: ignore[attr-defined]
