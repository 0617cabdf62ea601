"""A slot's autocleanup: after an upload, keep its newest saves and delete the older ones (RomM's
`autocleanup` and `autocleanup_limit` on `POST /api/saves`)."""

from __future__ import annotations

from cloudsaves.services import asset_records, orphans

# Saves one upload's autocleanup deletes at most (after its commit, so bounded): the next upload goes on.
AUTOCLEANUP_DELETES_PER_UPLOAD = 10


def autocleanup(user_id: int, rom_id: int, slot: str, keep: int) -> None:
    """Keep the slot's newest `keep` saves; delete older ones, their index entries and bytes.

    Only the newest `keep` + AUTOCLEANUP_DELETES_PER_UPLOAD members are looked at: a slot far over its
    limit shrinks by that many per upload.
    """
    repo = asset_records.assets_repository("save")
    members = repo.slots.members(user_id, rom_id, slot, limit=keep + AUTOCLEANUP_DELETES_PER_UPLOAD)
    if len(members) <= keep:
        return
    records = repo.get_many([m.save_id for m in members], consistent=True)
    for member in members:
        if member.save_id not in records:
            repo.slots.drop_member(user_id, rom_id, slot, member)
    live = [records[m.save_id] for m in members if m.save_id in records]
    notes = orphans.note_removals("save", live[keep:])
    deleted = [record for record in live[keep:] if repo.delete_one(record)]
    repo.remove_index_entries(deleted)
    gone = set(asset_records.all_keys(deleted))  # notes of saves that changed meanwhile: the sweep's
    orphans.release([n for n in notes if n.object_key in gone])
