"""A bounded soak of a local stack of its own: thousands of mixed requests from a few clients, no request
hangs, every answer is the expected one, and the server's resident memory stays bounded (object bytes
live on disk, a transaction does not copy the table). `make bench` runs a longer one (bench/soak.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack, local_stack_process
from tests.e2e.soak import resident_mb, soak

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "1700"))  # plus the warm-up: 2,000
CLIENTS = 4
WARM_UP_REQUESTS = 300
# Resident memory the server may gain over the soak after its warm-up: the table's items (a few KB each)
# and Python's allocator; not the object bytes (on disk). moto's table copies grew it by gigabytes.
MAX_GROWTH_MB = 60


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[tuple[RunningStack, int]]:
    if os.environ.get("AWS_SAM_STACK_NAME"):
        pytest.skip("soaks the local stack only")
    with local_stack_process(tmp_path / "data") as (stack, output):
        yield stack, output.pid


def test_soak_e2e_mixed_concurrent_requests_never_hang_and_memory_stays_bounded(
    own_stack: tuple[RunningStack, int],
) -> None:
    stack, pid = own_stack
    admin = (stack.admin_username, stack.admin_password)
    warm_up = soak(stack.base_url, admin, WARM_UP_REQUESTS, CLIENTS, seed=1)
    before = resident_mb(pid)
    result = soak(stack.base_url, admin, REQUESTS, CLIENTS, seed=100)
    growth = resident_mb(pid) - before

    assert warm_up.timeouts == result.timeouts == 0
    assert warm_up.unexpected + result.unexpected == []
    assert result.requests >= REQUESTS * 0.95
    assert growth < MAX_GROWTH_MB, f"resident memory grew {growth:.0f} MB over {result.requests} requests"
