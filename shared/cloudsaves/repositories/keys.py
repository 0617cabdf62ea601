"""Every item key of the single table, in one place.

pk / sk            the item's own key; GetItem and strongly consistent Queries go here
gsi1pk / gsi1sk    an owner's collection, newest first (a user's saves, states, ROM catalog)
gsi2pk / gsi2sk    a narrower collection (a user's saves of one ROM, ROMs of one platform)
slotspk / slotssk  the `slots` index: a user's slotted saves (or states), few attributes, for negotiate
expires_at_epoch   the TTL attribute (refresh tokens, upload reservations)
"""

from __future__ import annotations

import zlib

PROFILE = "PROFILE"


def user_pk(username: str) -> str:
    return f"USER#{username}"


def user_id_pk(user_id: int) -> str:
    return f"USERID#{user_id}"


def owner_pk(user_id: int) -> str:
    """The partition of everything a user owns and lists whole: devices, client tokens."""
    return f"U#{user_id}"


def refresh_token_pk(jti: str) -> str:
    return f"REFRESH#{jti}"


def client_token_sk(token_id: int) -> str:
    return f"CTOKEN#{token_id}"


def client_token_hash_pk(token_hash: str) -> str:
    return f"CTOKENHASH#{token_hash}"


def rom_pk(rom_id: int) -> str:
    return f"ROM#{rom_id}"


def device_sk(device_id: str) -> str:
    return f"DEVICE#{device_id}"


def sortable_int(value: int) -> str:
    return f"{value:020d}"


def user_saves_gsi1pk(user_id: int) -> str:
    """The gsi1 partition listing a user's saves, newest first."""
    return f"{owner_pk(user_id)}#SAVES"


def upload_pk(upload_id: str) -> str:
    """A direct-upload reservation (sk PROFILE, expires through expires_at_epoch)."""
    return f"UPLOAD#{upload_id}"


# --- saves and states (cloudsaves.repositories.assets) -------------------------------------------

ASSET_PREFIX = {"save": "SAVE", "state": "STATE"}
ASSET_COLLECTION = {"save": "SAVES", "state": "STATES"}
SLOT_HEAD = "HEAD"
NAME_CLAIM = "HEAD"


def asset_pk(kind: str, asset_id: int) -> str:
    """A save (`SAVE#<id>`) or state (`STATE#<id>`), sk PROFILE."""
    return f"{ASSET_PREFIX[kind]}#{asset_id}"


def user_assets_gsi1pk(kind: str, user_id: int) -> str:
    """The gsi1 partition of a user's saves or states, ordered by `asset_order`."""
    return f"{owner_pk(user_id)}#{ASSET_COLLECTION[kind]}"


def user_rom_assets_gsi2pk(kind: str, user_id: int, rom_id: int) -> str:
    """The gsi2 partition of a user's saves or states of one ROM, ordered by `asset_order`."""
    return f"{user_assets_gsi1pk(kind, user_id)}#ROM#{rom_id}"


def asset_order(updated_at: str, asset_id: int) -> str:
    return f"{updated_at}#{sortable_int(asset_id)}"


def slot_pk(user_id: int, rom_id: int, slot: str) -> str:
    """One save slot: its head (sk SLOT_HEAD, the revision every write to the slot must match) and members."""
    return f"SLOT#{user_id}#{rom_id}#{slot}"


def slot_member_sk(updated_at: str, save_id: int) -> str:
    return f"M#{asset_order(updated_at, save_id)}"


def asset_name_pk(kind: str, user_id: int, rom_id: int, file_name: str) -> str:
    """The claim on a slot-less file name (sk NAME_CLAIM): one save/state per user, ROM and name."""
    return f"{ASSET_PREFIX[kind]}NAME#{user_id}#{rom_id}#{file_name}"


# --- sync protocol (cloudsaves.repositories.sync, cloudsaves.repositories.play_sessions) -----------

SYNC_SESSION_PREFIX = "SYNCSESSION#"
TOMBSTONE_PREFIX = "TOMBSTONE#"


def sync_session_sk(session_id: int) -> str:
    """A sync session, in the user's partition (`owner_pk`), oldest to newest."""
    return f"{SYNC_SESSION_PREFIX}{sortable_int(session_id)}"


def device_sessions_gsi1pk(user_id: int, device_id: str) -> str:
    """The gsi1 partition of one device's sync sessions (gsi1sk: the sortable session id)."""
    return f"{owner_pk(user_id)}#SYNCSESSIONS#{device_id}"


def open_sessions_gsi2pk(user_id: int, device_id: str) -> str:
    """The sparse gsi2 partition of a device's PENDING / IN_PROGRESS sessions (removed when they end)."""
    return f"{owner_pk(user_id)}#OPENSESSIONS#{device_id}"


def slots_index_pk(kind: str, user_id: int) -> str:
    """The `slots` index partition: a user's slotted saves (`kind` save) or states (`kind` state)."""
    return f"{owner_pk(user_id)}#SYNC#{ASSET_COLLECTION[kind]}"


def tombstone_sk(kind: str, rom_id: int, slot: str) -> str:
    """A deleted slot's tombstone, in the user's partition (`owner_pk`)."""
    return f"{TOMBSTONE_PREFIX}{ASSET_PREFIX[kind]}#{rom_id}#{slot}"


def play_session_pk(session_id: int) -> str:
    """A play session (sk PROFILE); listed through gsi1 (`user_play_sessions_gsi1pk`)."""
    return f"PLAYSESSION#{session_id}"


def user_play_sessions_gsi1pk(user_id: int) -> str:
    """The gsi1 partition of a user's play sessions, ordered by `<start_time>#<id>`."""
    return f"{owner_pk(user_id)}#PLAYSESSIONS"


def play_session_claim_sk(device_id: str | None, rom_id: int | None, start_time: str) -> str:
    """RomM's duplicate key of a play session (user, device, ROM, start), in the user's partition."""
    return f"PLAYKEY#{device_id or '-'}#{rom_id if rom_id is not None else '-'}#{start_time}"


# --- device pairing (cloudsaves.repositories.device_auth) ----------------------------------------


def device_auth_pk(device_code_hash: str) -> str:
    """A pairing flow (sk PROFILE), keyed by its device code's SHA-256: the table never holds the code."""
    return f"DEVICEAUTH#{device_code_hash}"


def device_auth_user_code_pk(user_code: str) -> str:
    """The short code a person types (sk PROFILE): points at its flow while the flow is pending."""
    return f"DEVICEAUTHCODE#{user_code}"


def client_device_sk(client_device_identifier: str) -> str:
    """In the user's partition (`owner_pk`): which device a client's install identifier was paired as."""
    return f"CLIENTDEVICE#{client_device_identifier}"


def rate_limit_pk(limit: str, address: str, window_start: int) -> str:
    """One fixed-window counter (sk PROFILE) per limit, source address and window; expires by TTL."""
    return f"RATELIMIT#{limit}#{address}#{window_start}"


# --- the RetroArch Cloud Sync door (cloudsaves.repositories.cloud_sync) ---------------------------


def cloud_sync_pk(user_id: int) -> str:
    """The partition of a user's door entries: one item per synced path, read whole for the manifest."""
    return f"{owner_pk(user_id)}#CLOUDSYNC"


def cloud_sync_asset_sk(kind: str, rom_id: int, name_key: str) -> str:
    """A mapped entry: the save slot (`name_key` = slot) or state file (folded file name) of one ROM.

    It carries the door's tombstone for that (kind, ROM, slot or name): `deleted_at`, like §10's.
    """
    return f"ASSET#{kind}#{rom_id}#{name_key}"


def cloud_sync_file_sk(path_key: str) -> str:
    """A plain per-user file at a folded path (not a save or state of any ROM)."""
    return f"FILE#{path_key}"


def rom_stem_pk(stem_key: str) -> str:
    """The ROMs whose fs_name stem folds to `stem_key` (sk `ROM#<sortable id>`, lowest id first)."""
    return f"ROMSTEM#{stem_key}"


# --- the RomM client surface: token pairing, rate limits, gallery screenshots, activity, platforms --

# Every client token is also listed for admins, spread over a few gsi1 partitions so no one
# partition takes every token write (an admin listing reads them all and merges).
CLIENT_TOKEN_SHARDS = 8


def all_client_tokens_gsi1pk(token_id: int) -> str:
    return f"CTOKENS#{token_id % CLIENT_TOKEN_SHARDS}"


def pair_code_pk(code: str) -> str:
    """A pairing code (sk PROFILE) naming one client token; 60 s of life through expires_at_epoch."""
    return f"PAIRCODE#{code}"


def screenshot_pk(screenshot_id: int) -> str:
    """A gallery screenshot (sk PROFILE)."""
    return f"SCREENSHOT#{screenshot_id}"


def screenshot_name_pk(user_id: int, rom_id: int, file_name: str) -> str:
    """The claim on a gallery file name (sk PROFILE): uploading the name again replaces that screenshot."""
    return f"SCREENSHOTNAME#{user_id}#{rom_id}#{file_name}"


def activity_sk(device_id: str) -> str:
    """A device's "playing now" entry, in the user's partition (`owner_pk`), expiring by TTL."""
    return f"ACTIVITY#{device_id}"


PLATFORMS_GSI1PK = "PLATFORMS"


def platform_count_pk(platform_id: int) -> str:
    """A platform's item: its ROM count, moved with each ROM upsert, and what the catalog knows of it."""
    return f"PLATFORM#{platform_id}"


# --- the orphan-check ledger (cloudsaves.repositories.object_ledger) -------------------------------

# Notes of one hour are spread over this many partitions, so neither the writers nor the sweep meet
# on one hot item; the sweep reads them all.
ORPHAN_CHECK_SHARDS = 16
ORPHAN_CHECK_CURSOR_PK = "ORPHANCHECK#CURSOR"


def orphan_check_hour(moment_iso: str) -> str:
    """The hour a note is filed under (`yyyy-mm-ddThh`), from an ISO timestamp."""
    return moment_iso[:13]


def orphan_check_pk(hour: str, object_key: str) -> str:
    """A note about `object_key` filed in `hour`: pk `ORPHANCHECK#<hour>#<shard>`, sk the object key."""
    return orphan_check_shard_pk(hour, _shard(object_key))


def orphan_check_shard_pk(hour: str, shard: int) -> str:
    return f"ORPHANCHECK#{hour}#{shard}"


def _shard(object_key: str) -> int:
    return zlib.crc32(object_key.encode()) % ORPHAN_CHECK_SHARDS
