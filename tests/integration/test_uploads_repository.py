"""The reservation item's state machine: only conditional writes move it, and only its holder moves it on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cloudsaves.aws import table
from cloudsaves.clock import utcnow
from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.uploads import StagedFile, UploadReservation
from cloudsaves.repositories.uploads import UploadsRepository

pytestmark = pytest.mark.usefixtures("aws")


def _reservation(upload_id: str = "u-1", *, expires_in: int = 3600) -> UploadReservation:
    now = utcnow()
    return UploadReservation(
        upload_id=upload_id,
        kind="state",
        user_id=7,
        params={"rom_id": 1},
        file=StagedFile(
            file_name="a.state", file_size_bytes=3, content_md5="x" * 24, staging_key="staging/7/u/f"
        ),
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in),
    )


def test_uploads_repository_round_trips_with_ttl_attribute() -> None:
    repo = UploadsRepository(table())
    reservation = _reservation()

    repo.create(reservation)

    assert repo.get("u-1") == reservation
    item = table().get_item(Key={"pk": "UPLOAD#u-1", "sk": "PROFILE"})["Item"]
    assert item["expires_at_epoch"] == int(reservation.expires_at.timestamp())
    with pytest.raises(ConcurrentUpdate):
        repo.create(reservation)


def test_uploads_repository_claim_is_won_once_and_only_by_the_owner() -> None:
    repo = UploadsRepository(table())
    repo.create(_reservation())
    now = utcnow()
    lease_start = now - timedelta(minutes=16)

    assert not repo.claim("u-1", 8, "intruder", now, lease_start)
    assert repo.claim("u-1", 7, "first", now, lease_start)
    assert not repo.claim("u-1", 7, "second", now, lease_start)
    assert repo.get("u-1").claim_token == "first"  # type: ignore[union-attr]


def test_uploads_repository_stale_claim_can_be_taken_over() -> None:
    repo = UploadsRepository(table())
    repo.create(_reservation())
    long_ago = utcnow() - timedelta(hours=1)
    assert repo.claim("u-1", 7, "dead", long_ago, long_ago)

    now = utcnow()
    assert repo.claim("u-1", 7, "alive", now, now - timedelta(minutes=16))
    with pytest.raises(ConcurrentUpdate):
        repo.finish("u-1", "dead", 42, now)


def test_uploads_repository_refuses_to_claim_an_expired_reservation() -> None:
    repo = UploadsRepository(table())
    repo.create(_reservation(expires_in=60))
    later = utcnow() + timedelta(seconds=61)

    assert not repo.claim("u-1", 7, "late", later, later)


def test_uploads_repository_finish_fail_and_release_move_the_state() -> None:
    repo = UploadsRepository(table())
    now = utcnow()
    for upload_id in ("done", "failed", "released"):
        repo.create(_reservation(upload_id))
        assert repo.claim(upload_id, 7, "token", now, now)

    repo.finish("done", "token", 42, now + timedelta(hours=2))
    repo.fail("failed", "token", 409, "Slot has a newer save since your last sync")
    repo.release("released", "token")

    done, failed, released = (repo.get(u) for u in ("done", "failed", "released"))
    assert done is not None and (done.status, done.result_id, done.claim_token) == ("done", 42, None)
    item = table().get_item(Key={"pk": "UPLOAD#done", "sk": "PROFILE"})["Item"]
    assert item["expires_at_epoch"] == int((now + timedelta(hours=2)).timestamp())
    assert failed is not None and (failed.status, failed.error_status) == ("failed", 409)
    assert released is not None and (released.status, released.claimed_at) == ("pending", None)
    assert repo.claim("released", 7, "again", now, now)
