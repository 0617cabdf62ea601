"""Id allocation with no counter item on the write path.

An id is the milliseconds since 2025-01-01 followed by 11 random bits: time-ordered, below 2^53 for
~140 years, and unique because every item that takes an id is written with `attribute_not_exists`,
so the rare collision fails the write and the caller retries with a fresh id.
"""

from __future__ import annotations

import secrets
import time
import uuid

_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_RANDOM_BITS = 11


def new_int_id() -> int:
    elapsed_ms = int(time.time() * 1000) - _EPOCH_MS
    return (elapsed_ms << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)


def new_uuid() -> str:
    return str(uuid.uuid4())
