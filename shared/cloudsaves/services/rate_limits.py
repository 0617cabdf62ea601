"""Per-address fixed-window rate limits for the public routes (counters in the table, expiring by TTL)."""

from __future__ import annotations

from dataclasses import dataclass

from cloudsaves.aws import table
from cloudsaves.clock import utcnow
from cloudsaves.errors import TooManyRequests
from cloudsaves.repositories.rate_limits import RateLimitsRepository


@dataclass(frozen=True)
class RateLimit:
    name: str
    max_requests: int
    window_seconds: int
    detail: str


def enforce_rate_limit(limit: RateLimit, address: str) -> None:
    """Count this request from `address`; 429 with `limit.detail` once its window is full."""
    now = int(utcnow().timestamp())
    window_start = now - now % limit.window_seconds
    window_end = window_start + limit.window_seconds
    counted = RateLimitsRepository(table()).count_request(
        limit.name,
        address or "unknown",
        window_start,
        limit.max_requests,
        expires_at=window_end + limit.window_seconds,  # TTL: the counter outlives its window a little
    )
    if not counted:
        raise TooManyRequests(limit.detail, headers={"Retry-After": str(window_end - now)})
