"""Changes to saves and states that are not content: visibility and all-or-nothing deletion."""

from __future__ import annotations

from typing import Literal, overload

from cloudsaves.errors import BadRequest, ConcurrentUpdate, Conflict
from cloudsaves.http import Principal
from cloudsaves.models.assets import (
    MAX_DELETE_IDS,
    Kind,
    SaveSchema,
    StateSchema,
)
from cloudsaves.services import asset_records, asset_views, orphans


@overload
def set_visibility(
    kind: Literal["save"], principal: Principal, asset_id: int, is_public: bool
) -> SaveSchema: ...
@overload
def set_visibility(
    kind: Literal["state"], principal: Principal, asset_id: int, is_public: bool
) -> StateSchema: ...
def set_visibility(
    kind: Kind, principal: Principal, asset_id: int, is_public: bool
) -> SaveSchema | StateSchema:
    """Owner only (others get 404). Not content: `updated_at` and device sync state do not move."""
    try:
        record = asset_records.assets_repository(kind).set_visibility(asset_id, principal.user_id, is_public)
    except ConcurrentUpdate as exc:
        raise asset_records.not_found(kind, asset_id) from exc
    return asset_views.schema(record, None)


def delete_assets(kind: Kind, principal: Principal, asset_ids: list[int]) -> list[int]:
    """Delete all of the caller's listed assets, or none (404 naming the first that is not theirs)."""
    if not asset_ids:
        raise BadRequest(f"No {kind}s were provided")
    if len(asset_ids) > MAX_DELETE_IDS:
        raise BadRequest(f"At most {MAX_DELETE_IDS} {kind}s can be deleted at once")
    repo = asset_records.assets_repository(kind)
    for _ in range(asset_records.MAX_COMMIT_ATTEMPTS):
        found = repo.get_many(asset_ids, consistent=True)
        for asset_id in asset_ids:
            if asset_id not in found or found[asset_id].user_id != principal.user_id:
                raise asset_records.not_found(kind, asset_id)
        notes = orphans.note_removals(kind, found.values())  # before the delete: a death after it leaves them
        try:
            repo.delete_owned(found.values())
            break
        except ConcurrentUpdate:
            asset_records.backoff()  # one changed or vanished meanwhile: look again
    else:
        raise Conflict(f"The {kind}s kept changing while being deleted; try again")
    records = list(found.values())
    repo.remove_index_entries(records)
    orphans.release(notes)
    if kind == "save":
        from cloudsaves.services.sync import tombstone_emptied_slots

        tombstone_emptied_slots(principal.user_id, records)
    return asset_ids
