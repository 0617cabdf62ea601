"""Sync protocol use cases (API.md section 10): negotiate, sync sessions, and the session bookkeeping
of transfers. The pairing rules themselves are pure and live in `sync_rules`.

Negotiate's DynamoDB cost does not grow per save: GetItem (device), one Query of the `slots` index
(all pages: a page holds about 1,700 saves), one Query of the device's open sessions, and one
transaction (new session, cancelled sessions, device `last_seen`). `states` adds one Query, `deleted`
one Query of the tombstones (and a batch write when the client reported deletions).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cloudsaves import clock
from cloudsaves.auth.scopes import Scope
from cloudsaves.aws import table
from cloudsaves.clock import iso
from cloudsaves.errors import BadRequest, ConcurrentUpdate, Conflict, NotFound
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id
from cloudsaves.models.assets import AnyRecord, Kind, SaveRecord
from cloudsaves.models.devices import MAX_DEVICE_ID_LENGTH, DeviceRecord
from cloudsaves.models.sync import (
    MAX_TRANSFER_HINTS,
    OPEN_STATUSES,
    ClientSaveState,
    ClientStateEntry,
    OperationTotals,
    StateOperationSchema,
    SyncCompletePayload,
    SyncCompleteResponse,
    SyncNegotiatePayload,
    SyncNegotiateResponse,
    SyncOperationSchema,
    SyncSessionSchema,
    SyncSessionStatus,
    Tombstone,
    UploadHint,
)
from cloudsaves.observability import logger
from cloudsaves.repositories.assets import AssetsRepository
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.repositories.sync import IndexedFile, SyncRepository
from cloudsaves.services import sync_rules
from cloudsaves.services.sync_rules import ClientFile, DeadSlot, DeviceSync, Planned, ServerFile

_START_ATTEMPTS = 4


def sync_repository() -> SyncRepository:
    return SyncRepository(table())


# --- negotiate ------------------------------------------------------------------------------------


def negotiate(principal: Principal, payload: SyncNegotiatePayload) -> SyncNegotiateResponse:
    """Plan the device's sync, cancel its open sessions and open a new one (IN_PROGRESS)."""
    device = _negotiating_device(principal, payload.device_id)
    repo = sync_repository()
    rows = repo.indexed_files("save", principal.user_id, device.id)
    tombstones = repo.tombstones(principal.user_id) if payload.deleted is not None else None
    plan = sync_rules.plan_saves(
        [_client_file(entry) for entry in payload.saves],
        [_server_file(row, device) for row in rows],
        tombstones=[_dead(t) for t in tombstones] if tombstones is not None else None,
        deleted=[(d.rom_id, d.slot) for d in payload.deleted or ()],
    )
    counts = sync_rules.totals(plan.operations)
    states = _plan_states(principal.user_id, payload.states) if payload.states is not None else None
    now = clock.now_iso()
    session = _start_session(principal.user_id, device.id, _to_do(counts, states), now)
    if plan.new_tombstones:  # after the session opened: a refused negotiate leaves none behind
        repo.put_tombstones(
            principal.user_id, [_tombstone(row, device.id, now) for row in plan.new_tombstones]
        )
    hints = _Hints(device.id) if payload.transfers else None
    rows_by_id = {row.id: row for row in rows}
    response = SyncNegotiateResponse(
        session_id=session.id,
        operations=[_save_operation(op, rows_by_id, hints) for op in plan.operations],
        total_upload=counts["upload"],
        total_download=counts["download"],
        total_conflict=counts["conflict"],
        total_no_op=counts["no_op"],
        total_delete=counts["delete"] if payload.deleted is not None else None,
    )
    if states is not None:
        state_ops, state_rows = states
        state_counts = sync_rules.totals(state_ops)
        response.state_operations = [_state_operation(op, state_rows, hints) for op in state_ops]
        response.state_totals = OperationTotals(
            total_upload=state_counts["upload"],
            total_download=state_counts["download"],
            total_conflict=state_counts["conflict"],
            total_no_op=state_counts["no_op"],
        )
    logger.info(
        "Sync negotiated",
        extra={"device_id": device.id, "session_id": session.id, "saves": len(payload.saves), **counts},
    )
    return response


def _plan_states(
    user_id: int, states: list[ClientStateEntry]
) -> tuple[list[Planned], dict[int, IndexedFile]]:
    """The opt-in `states` part: paired apart, answered in `state_operations` / `state_totals`."""
    rows = {row.id: row for row in sync_repository().indexed_files("state", user_id, None)}
    planned = sync_rules.plan_states(
        [_client_file(entry) for entry in states], [_server_file(row) for row in rows.values()]
    )
    return planned, rows


def _to_do(counts: dict[str, int], states: tuple[list[Planned], dict[int, IndexedFile]] | None) -> int:
    """The session's `operations_planned`: RomM's uploads + downloads + conflicts, plus what the opt-ins
    add (deletes, and the states' own), since a client completes those too."""
    to_do = counts["upload"] + counts["download"] + counts["conflict"] + counts["delete"]
    if states is not None:
        state_counts = sync_rules.totals(states[0])
        to_do += state_counts["upload"] + state_counts["download"] + state_counts["conflict"]
    return to_do


def _negotiating_device(principal: Principal, device_id: str | None) -> DeviceRecord:
    chosen = device_id or principal.device_id
    if not chosen:
        raise BadRequest("device_id is required (or authenticate with a device-bound token)")
    device = _device(principal.user_id, chosen)
    if device is None:
        raise NotFound(f"Device with ID {chosen} not found")
    if not device.sync_enabled:
        raise BadRequest("Sync is disabled for this device")
    return device


def _device(user_id: int, device_id: str) -> DeviceRecord | None:
    if len(device_id) > MAX_DEVICE_ID_LENGTH:
        return None
    return DevicesRepository(table()).get(user_id, device_id)


def _start_session(user_id: int, device_id: str, planned: int, now: str) -> SyncSessionSchema:
    repo = sync_repository()
    to_cancel = repo.open_session_ids(user_id, device_id)
    for _ in range(_START_ATTEMPTS):
        session = SyncSessionSchema(
            id=new_int_id(),
            device_id=device_id,
            user_id=user_id,
            status=SyncSessionStatus.IN_PROGRESS,
            initiated_at=now,
            operations_planned=planned,
            created_at=now,
            updated_at=now,
        )
        try:
            repo.start_session(session, to_cancel, now)
            return session
        except ConcurrentUpdate:
            # A session ended meanwhile, the id collided, or the device is gone: look again. The
            # open-sessions index lags its table, so each candidate is checked on the table itself.
            if _device(user_id, device_id) is None:
                raise NotFound(f"Device with ID {device_id} not found") from None
            to_cancel = [
                session_id
                for session_id in repo.open_session_ids(user_id, device_id)
                if (found := repo.get_session(user_id, session_id)) is not None
                and found.status in OPEN_STATUSES
            ]
    raise Conflict("Another sync of this device is starting; try again")


def _client_file(entry: ClientSaveState | ClientStateEntry) -> ClientFile:
    return ClientFile(
        rom_id=entry.rom_id,
        file_name=entry.file_name,
        updated_at=entry.updated_at,
        content_hash=entry.content_hash or None,
        slot=getattr(entry, "slot", None),
        emulator=entry.emulator,
        file_size_bytes=entry.file_size_bytes,
    )


def _server_file(row: IndexedFile, device: DeviceRecord | None = None) -> ServerFile:
    """The planner's view of a stored file, with `device`'s sync record if it still counts."""
    sync = None
    if row.last_synced_at is not None and (device is None or device.counts_sync(row.last_synced_at)):
        sync = DeviceSync(last_synced_at=_parse(row.last_synced_at), is_untracked=row.is_untracked)
    return ServerFile(
        id=row.id,
        rom_id=row.rom_id,
        file_name=row.file_name,
        updated_at=_parse(row.updated_at),
        content_hash=row.content_hash,
        slot=row.slot,
        emulator=row.emulator,
        sync=sync,
    )


def _dead(tombstone: Tombstone) -> DeadSlot:
    return DeadSlot(
        rom_id=tombstone.rom_id,
        slot=tombstone.slot,
        save_id=tombstone.save_id,
        content_hash=tombstone.content_hash,
        deleted_at=_parse(tombstone.deleted_at),
    )


def _tombstone(row: ServerFile, device_id: str | None, now: str) -> Tombstone:
    assert row.slot is not None
    return Tombstone(
        rom_id=row.rom_id,
        slot=row.slot,
        save_id=row.id,
        file_name=row.file_name,
        content_hash=row.content_hash,
        deleted_at=now,
        device_id=device_id,
    )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


class _Hints:
    """`transfers: true`: presigned GETs for downloads, reservation bodies for uploads (bounded)."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.left = MAX_TRANSFER_HINTS

    def download(self, row: IndexedFile) -> tuple[str, str] | None:
        from cloudsaves import storage

        if self.left <= 0:
            return None
        self.left -= 1
        presigned = storage.presigned_get(row.object_key, row.file_name)
        return presigned.url, iso(presigned.expires_at)

    def upload(self, kind: Kind, client: ClientFile) -> UploadHint | None:
        if self.left <= 0:
            return None
        self.left -= 1
        body: dict[str, object] = {
            "rom_id": client.rom_id,
            "emulator": client.emulator,
            "file_name": client.file_name,
            "file_size_bytes": client.file_size_bytes,
        }
        if kind == "save":
            body |= {"slot": client.slot, "device_id": self.device_id}
        return UploadHint(path=f"/api/{kind}s/uploads", body=body)


def _save_operation(op: Planned, rows: dict[int, IndexedFile], hints: _Hints | None) -> SyncOperationSchema:
    if op.server is not None:
        server = op.server
        operation = SyncOperationSchema(
            action=op.action,
            rom_id=server.rom_id,
            save_id=server.id,
            file_name=server.file_name,
            slot=server.slot,
            emulator=server.emulator,
            reason=op.reason,
            server_updated_at=iso(server.updated_at),
            server_content_hash=server.content_hash,
        )
    else:
        assert op.client is not None
        operation = SyncOperationSchema(
            action=op.action,
            rom_id=op.client.rom_id,
            file_name=op.client.file_name,
            slot=op.client.slot,
            emulator=op.client.emulator,
            reason=op.reason,
        )
    if hints is not None:
        _add_hints(operation, op, rows, hints, "save")
    return operation


def _state_operation(op: Planned, rows: dict[int, IndexedFile], hints: _Hints | None) -> StateOperationSchema:
    source = op.server
    operation = StateOperationSchema(
        action=op.action,
        rom_id=source.rom_id if source else op.client.rom_id,  # type: ignore[union-attr]
        state_id=source.id if source else None,
        file_name=source.file_name if source else op.client.file_name,  # type: ignore[union-attr]
        emulator=source.emulator if source else op.client.emulator,  # type: ignore[union-attr]
        reason=op.reason,
        server_updated_at=iso(source.updated_at) if source else None,
        server_content_hash=source.content_hash if source else None,
    )
    if hints is not None:
        _add_hints(operation, op, rows, hints, "state")
    return operation


def _add_hints(
    operation: SyncOperationSchema | StateOperationSchema,
    op: Planned,
    rows: dict[int, IndexedFile],
    hints: _Hints,
    kind: Kind,
) -> None:
    if op.action == "download" and op.server is not None:
        signed = hints.download(rows[op.server.id])
        if signed is not None:
            operation.download_url, operation.expires_at = signed
    elif op.action == "upload" and op.client is not None:
        operation.upload = hints.upload(kind, op.client)


# --- tombstones -----------------------------------------------------------------------------------


def tombstone_emptied_slots(user_id: int, deleted: Sequence[AnyRecord]) -> None:
    """After `POST /api/saves/delete`: each slot left with no save gets a tombstone of its newest.

    Best effort: the delete has happened; without the tombstone a device would upload its copy back.
    """
    newest: dict[tuple[int, str], SaveRecord] = {}
    for record in deleted:
        if isinstance(record, SaveRecord) and record.slot is not None:
            key = (record.rom_id, record.slot)
            if key not in newest or (record.updated_at, record.id) > (newest[key].updated_at, newest[key].id):
                newest[key] = record
    if not newest:
        return
    try:
        assets = AssetsRepository(table(), "save")
        now = clock.now_iso()
        dead = [
            Tombstone(
                rom_id=rom_id,
                slot=slot,
                save_id=record.id,
                file_name=record.file_name,
                content_hash=record.content_hash,
                deleted_at=now,
            )
            for (rom_id, slot), record in sorted(newest.items())
            if not assets.slots.members(user_id, rom_id, slot, limit=1)
        ]
        sync_repository().put_tombstones(user_id, dead)
    except Exception:
        logger.exception("Could not write tombstones", extra={"slots": sorted(newest)})


# --- sessions -------------------------------------------------------------------------------------


def require_device_scope(principal: Principal, scope: str, device_id: str | None) -> None:
    """RomM's devices.* scope of a sync route. A device-bound token needs none for its own device
    (the binding is the permission, as on the save routes); it then sees only its device's sessions."""
    if principal.device_id and device_id in (None, principal.device_id):
        return
    principal.require(scope)


def _bound_only(principal: Principal) -> str | None:
    """The device a device-bound token without devices.read is confined to."""
    return principal.device_id if Scope.DEVICES_READ not in principal.scopes else None


def list_sessions(principal: Principal, device_id: str | None, limit: int) -> list[SyncSessionSchema]:
    return sync_repository().list_sessions(principal.user_id, device_id or _bound_only(principal), limit)


def get_session(principal: Principal, session_id: int) -> SyncSessionSchema:
    session = sync_repository().get_session(principal.user_id, session_id)
    confined = _bound_only(principal)
    if session is None or (confined is not None and session.device_id != confined):
        raise _session_not_found(session_id)
    return session


def complete_session(
    principal: Principal, session_id: int, payload: SyncCompletePayload
) -> SyncCompleteResponse:
    """Close an open session with the client's counts (they replace the server's), then ingest plays."""
    repo = sync_repository()
    session = get_session(principal, session_id)
    if session.status not in OPEN_STATUSES:
        raise BadRequest(f"Session is already {session.status.value}")
    try:
        completed = repo.complete_session(
            principal.user_id,
            session_id,
            payload.operations_completed,
            payload.operations_failed,
            clock.now_iso(),
        )
    except ConcurrentUpdate:
        # Cancelled or completed since we read it: report what it became.
        raise BadRequest(f"Session is already {get_session(principal, session_id).status.value}") from None
    ingest = None
    if payload.play_sessions:
        from cloudsaves.services.play_sessions import ingest_entries

        ingest = ingest_entries(
            principal, payload.play_sessions, device_id=session.device_id, sync_session_id=session_id
        )
    return SyncCompleteResponse(session=completed, play_session_ingest=ingest)


def count_operation(principal: Principal, session_id: int | None) -> None:
    """`session_id` on an upload or `/content`: one more completed operation (never fails the transfer)."""
    if not session_id:
        return
    try:
        if not sync_repository().count_completed_operation(principal.user_id, session_id, clock.now_iso()):
            logger.info("No such sync session to count on", extra={"session_id": session_id})
    except Exception:  # RomM: counting is bookkeeping, never a reason to fail the transfer
        logger.warning(
            "Could not count a sync session operation", extra={"session_id": session_id}, exc_info=True
        )


def _session_not_found(session_id: int) -> NotFound:
    return NotFound(f"Sync session with ID {session_id} not found")
