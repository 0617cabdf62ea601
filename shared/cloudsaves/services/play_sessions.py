"""Play sessions (RomM 5.2's `/api/play-sessions`): batch ingest with per-entry results, list, delete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import islice

from cloudsaves import clock
from cloudsaves.aws import table
from cloudsaves.clock import iso
from cloudsaves.errors import BadRequest, NotFound
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH
from cloudsaves.models.play_sessions import (
    MAX_BATCH_SIZE,
    MAX_FUTURE_MINUTES,
    PlaySessionEntry,
    PlaySessionIngestPayload,
    PlaySessionIngestResponse,
    PlaySessionIngestResult,
    PlaySessionRecord,
    PlaySessionSchema,
    utc_seconds,
)
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.repositories.play_sessions import PlaySessionsRepository, claim_of
from cloudsaves.repositories.roms import RomsRepository


def play_sessions_repository() -> PlaySessionsRepository:
    return PlaySessionsRepository(table())


def ingest(principal: Principal, payload: PlaySessionIngestPayload) -> PlaySessionIngestResponse:
    """`POST /api/play-sessions`: 1..100 entries; a device-bound token names its device by default."""
    if not payload.sessions:
        raise BadRequest("Payload must contain at least one session")
    if len(payload.sessions) > MAX_BATCH_SIZE:
        raise BadRequest(f"Batch size exceeds maximum of {MAX_BATCH_SIZE}")
    return ingest_entries(principal, payload.sessions, device_id=payload.device_id or principal.device_id)


def ingest_entries(
    principal: Principal,
    entries: Sequence[PlaySessionEntry],
    *,
    device_id: str | None,
    sync_session_id: int | None = None,
) -> PlaySessionIngestResponse:
    """Store new sessions; duplicates (same device, ROM and start) are skipped, and so are sessions
    ending more than 5 minutes in the future. An unknown ROM or device is stored as null (RomM)."""
    user_id = principal.user_id
    device = _own_device(user_id, device_id)
    latest_end = clock.utcnow() + timedelta(minutes=MAX_FUTURE_MINUTES)
    rom_ids = _known_roms({e.rom_id for e in entries if e.rom_id is not None})
    results: dict[int, PlaySessionIngestResult] = {}
    candidates: list[tuple[int, PlaySessionRecord]] = []
    now = clock.now_iso()
    for index, entry in enumerate(entries):
        if entry.end_time > latest_end:
            results[index] = PlaySessionIngestResult(
                index=index, status="error", detail="end_time is too far in the future"
            )
            continue
        candidates.append(
            (
                index,
                PlaySessionRecord(
                    id=new_int_id(),
                    user_id=user_id,
                    device_id=device,
                    rom_id=entry.rom_id if entry.rom_id in rom_ids else None,
                    save_slot=entry.save_slot,
                    start_time=_stamp(entry.start_time),
                    end_time=_stamp(entry.end_time),
                    duration_ms=entry.duration_ms,
                    created_at=now,
                    updated_at=now,
                    sync_session_id=sync_session_id,
                ),
            )
        )
    repo = play_sessions_repository()
    taken = repo.taken(user_id, [claim_of(record) for _, record in candidates])
    fresh: list[tuple[int, PlaySessionRecord]] = []
    for index, record in candidates:
        if claim_of(record) in taken:
            results[index] = PlaySessionIngestResult(index=index, status="duplicate")
            continue
        taken.add(claim_of(record))  # the same session twice in one batch: the second is a duplicate
        fresh.append((index, record))
    lost = repo.add_all([record for _, record in fresh])
    for index, record in fresh:
        if record.id in lost:
            results[index] = PlaySessionIngestResult(index=index, status="duplicate")
        else:
            results[index] = PlaySessionIngestResult(index=index, status="created", id=record.id)
    if device is not None:
        DevicesRepository(table()).touch_last_seen(user_id, device, now)
    created = sum(1 for r in results.values() if r.status == "created")
    return PlaySessionIngestResponse(
        results=[results[i] for i in sorted(results)],
        created_count=created,
        skipped_count=len(entries) - created,
    )


def list_sessions(
    principal: Principal,
    *,
    rom_id: int | None,
    device_id: str | None,
    start_after: datetime | None,
    end_before: datetime | None,
    limit: int,
    offset: int,
) -> list[PlaySessionSchema]:
    """RomM's list: newest `start_time` first; `start_after` / `end_before` bound `start_time`; a time
    filter lifts `limit` (offset still applies); a device-bound token lists its device by default."""
    filters: dict[str, object] = {}
    if rom_id is not None:
        filters["rom_id"] = rom_id
    chosen_device = device_id or principal.device_id
    if chosen_device is not None:
        filters["device_id"] = chosen_device
    records = play_sessions_repository().newest_first(
        principal.user_id,
        start_from=_stamp(utc_seconds(start_after)) if start_after is not None else None,
        start_until=_stamp(utc_seconds(end_before)) if end_before is not None else None,
        filters=filters,
    )
    windowed = start_after is not None or end_before is not None
    stop = None if windowed else offset + limit
    return [PlaySessionSchema.model_validate(r.model_dump()) for r in islice(records, offset, stop)]


def delete_session(principal: Principal, session_id: int) -> None:
    repo = play_sessions_repository()
    record = repo.get(session_id)
    if record is None or record.user_id != principal.user_id or not repo.delete(record):
        raise NotFound(f"Play session {session_id} not found")


def _own_device(user_id: int, device_id: str | None) -> str | None:
    if not device_id or len(device_id) > MAX_DEVICE_ID_LENGTH:
        return None
    return device_id if DevicesRepository(table()).get(user_id, device_id) is not None else None


def _known_roms(rom_ids: set[int]) -> set[int]:
    plausible = {rom_id for rom_id in rom_ids if 0 < rom_id < 2**53}
    return RomsRepository(table()).existing_ids(plausible) if plausible else set()


def _stamp(moment: datetime) -> str:
    return iso(utc_seconds(moment))
