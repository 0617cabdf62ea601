"""Every item key of the single table, in one place.

pk / sk            the item's own key; GetItem and strongly consistent Queries go here
gsi1pk / gsi1sk    an owner's collection, newest first (a user's saves, states, ROM catalog)
gsi2pk / gsi2sk    a narrower collection (a user's saves of one ROM, ROMs of one platform)
expires_at_epoch   the TTL attribute (refresh tokens, upload reservations)
"""

from __future__ import annotations

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
