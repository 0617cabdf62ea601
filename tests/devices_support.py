"""Save items written straight to the table, in the saves layout, for device tests."""

from __future__ import annotations

from typing import Any

from cloudsaves.aws import table
from cloudsaves.repositories import keys


def put_save(save_id: int, user_id: int, syncs: dict[str, Any]) -> None:
    """A save item with only the attributes device code looks at (sync records, the owner's index)."""
    updated_at = "2025-02-01T00:00:00.000000+00:00"
    table().put_item(
        Item={
            "pk": f"SAVE#{save_id}",
            "sk": keys.PROFILE,
            "id": save_id,
            "user_id": user_id,
            "updated_at": updated_at,
            "syncs": syncs,
            "gsi1pk": keys.user_saves_gsi1pk(user_id),
            "gsi1sk": f"{updated_at}#{save_id:020d}",
        }
    )


def syncs_of(save_id: int) -> dict[str, Any]:
    return table().get_item(Key={"pk": f"SAVE#{save_id}", "sk": keys.PROFILE})["Item"]["syncs"]
