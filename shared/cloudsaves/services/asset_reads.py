"""Reading saves and states: lists (paged by cursor), identifiers, the per-slot summary, one record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

from cloudsaves.http import NEXT_CURSOR_HEADER, Principal
from cloudsaves.models.assets import (
    Kind,
    SaveRecord,
    SaveSchema,
    SaveSummarySchema,
    SlotSummarySchema,
    StateSchema,
)
from cloudsaves.services import asset_records, asset_views
from cloudsaves.services.devices import resolve_device

Item = TypeVar("Item", SaveSchema, StateSchema, int)
Row = TypeVar("Row")
FULL_LIST_PAGE = 1000  # the Query size while reading a whole list


@dataclass(frozen=True)
class AssetPage(Generic[Item]):
    """One page of a list: the items (a plain JSON array for RomM clients) and the next page's cursor."""

    items: list[Item]
    next_cursor: str | None = None

    @property
    def headers(self) -> dict[str, str] | None:
        return {NEXT_CURSOR_HEADER: self.next_cursor} if self.next_cursor else None


@overload
def list_assets(
    kind: Literal["save"],
    principal: Principal,
    *,
    rom_id: int | None = None,
    platform_id: int | None = None,
    slot: str | None = None,
    device_id: str | None = None,
    limit: int | None,
    cursor: str | None = None,
) -> AssetPage[SaveSchema]: ...
@overload
def list_assets(
    kind: Literal["state"],
    principal: Principal,
    *,
    rom_id: int | None = None,
    platform_id: int | None = None,
    slot: str | None = None,
    device_id: str | None = None,
    limit: int | None,
    cursor: str | None = None,
) -> AssetPage[StateSchema]: ...
def list_assets(
    kind: Kind,
    principal: Principal,
    *,
    rom_id: int | None = None,
    platform_id: int | None = None,
    slot: str | None = None,
    device_id: str | None = None,
    limit: int | None,
    cursor: str | None = None,
) -> AssetPage[SaveSchema] | AssetPage[StateSchema]:
    """The caller's saves or states, newest first, `limit` at a time (the cursor names the next page).

    Without `limit`, every match (from `cursor` on), as RomM answers clients that send none.
    """
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    repo = asset_records.assets_repository(kind)
    records, next_cursor = _pages(
        lambda size, start: repo.page(
            principal.user_id, rom_id=rom_id, platform_id=platform_id, slot=slot, limit=size, cursor=start
        ),
        limit,
        cursor,
    )
    if kind == "state":
        return AssetPage(
            items=[asset_views.state_schema(record) for record in records], next_cursor=next_cursor
        )
    labels = asset_views.device_labels_of(principal.user_id, records, device)
    saves = [
        asset_views.save_schema(record, device, labels)
        for record in records
        if isinstance(record, SaveRecord)
    ]
    return AssetPage(items=saves, next_cursor=next_cursor)


def list_identifiers(
    kind: Kind, principal: Principal, *, limit: int | None, cursor: str | None = None
) -> AssetPage[int]:
    """The ids of the caller's saves or states, newest first; every one of them without `limit`."""
    repo = asset_records.assets_repository(kind)
    ids, next_cursor = _pages(
        lambda size, start: repo.identifiers(principal.user_id, size, start), limit, cursor
    )
    return AssetPage(items=ids, next_cursor=next_cursor)


def _pages(
    read: Callable[[int, str | None], tuple[list[Row], str | None]], limit: int | None, cursor: str | None
) -> tuple[list[Row], str | None]:
    """One page of `limit`, or (no limit) every page from `cursor` to the end: nothing is cut short."""
    if limit is not None:
        return read(limit, cursor)
    rows: list[Row] = []
    while True:
        page, cursor = read(FULL_LIST_PAGE, cursor)
        rows.extend(page)
        if cursor is None:
            return rows, None


def saves_summary(principal: Principal, rom_id: int) -> SaveSummarySchema:
    """`{total_count, slots: [{slot, count, latest}]}` for one ROM: one entry per slot (null included)."""
    records = asset_records.assets_repository("save").all_of_rom(principal.user_id, rom_id)
    counts: dict[str | None, int] = {}
    latest: dict[str | None, SaveRecord] = {}
    for record in records:  # newest first, so the first of each slot is its latest
        assert isinstance(record, SaveRecord)
        counts[record.slot] = counts.get(record.slot, 0) + 1
        latest.setdefault(record.slot, record)
    slots = [
        SlotSummarySchema(slot=slot, count=counts[slot], latest=asset_views.save_schema(record, None))
        for slot, record in latest.items()
    ]
    return SaveSummarySchema(total_count=len(records), slots=slots)


@overload
def get_asset(
    kind: Literal["save"], principal: Principal, asset_id: int, *, device_id: str | None = None
) -> SaveSchema: ...
@overload
def get_asset(
    kind: Literal["state"], principal: Principal, asset_id: int, *, device_id: str | None = None
) -> StateSchema: ...
def get_asset(
    kind: Kind, principal: Principal, asset_id: int, *, device_id: str | None = None
) -> SaveSchema | StateSchema:
    device = resolve_device(principal, device_id, write=False) if kind == "save" else None
    return asset_views.schema(asset_records.owned(kind, principal, asset_id), device)
