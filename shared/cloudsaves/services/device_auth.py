"""Device pairing (RFC 8628 device authorization, RomM's `/api/auth/device/*`).

A device without a keyboard starts a flow (`start_pairing`) and shows the user code; a signed-in user
reads it (`pending_request`) and approves it (`approve_pairing`: the device is created or reused and
a client token bound to it is minted) or denies it; meanwhile the device polls (`poll_token`) and
receives the token exactly once.

The table never holds the device code (flows are keyed by its SHA-256) nor a usable token: the token
is drawn at init, and the flow keeps its hash (approve stores the token under it) and the raw token
sealed with a pad derived from the device code, which only the device holds.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from cloudsaves.auth.scopes import ROLE_SCOPES, Role
from cloudsaves.auth.tokens import CLIENT_TOKEN_PREFIX, hash_client_token, new_client_token
from cloudsaves.aws import table
from cloudsaves.clock import iso, utcnow
from cloudsaves.errors import BadRequest, ConcurrentUpdate, Forbidden, NotFound
from cloudsaves.http import Principal
from cloudsaves.ids import new_int_id, new_uuid
from cloudsaves.models.device_auth import (
    DeviceAuthApprovePayload,
    DeviceAuthApproveResponse,
    DeviceAuthDenyPayload,
    DeviceAuthInitPayload,
    DeviceAuthInitResponse,
    DeviceAuthPendingSchema,
    DeviceAuthTokenPayload,
    DeviceAuthTokenResponse,
    FlowStatus,
    PairingFlow,
)
from cloudsaves.models.devices import DeviceRecord, SyncMode
from cloudsaves.models.users import EXPIRES_IN_DAYS, ClientTokenRecord
from cloudsaves.repositories.device_auth import DeviceAuthRepository
from cloudsaves.repositories.devices import DevicesRepository
from cloudsaves.repositories.users import MAX_CLIENT_TOKENS, TOO_MANY_CLIENT_TOKENS, UsersRepository
from cloudsaves.services.rate_limits import RateLimit, enforce_rate_limit

PENDING_SECONDS = 600
DENIED_SECONDS = 60  # a denied device code still answers access_denied this long
POLL_INTERVAL_SECONDS = 5
DEVICE_CODE_BYTES = 32
USER_CODE_LENGTH = 8
USER_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # RomM's: no 0/O, 1/I/L
VERIFICATION_PATH = "/pair/device"

INIT_LIMIT = RateLimit("device-init", 10, 60, "Too many authorize attempts. Try again later.")
POLL_LIMIT = RateLimit("device-token", 60, 60, "Too many polling attempts. Try again later.")

UNKNOWN_CODE = "Unknown or expired code"
SCOPES_EXCEEDED = "Approved scopes exceed what's allowed for this user"

_ATTEMPTS = 5


def pairing_repository() -> DeviceAuthRepository:
    return DeviceAuthRepository(table())


def start_pairing(source_ip: str, payload: DeviceAuthInitPayload) -> DeviceAuthInitResponse:
    """A new pending flow (rate-limited per source address): its device code and user code."""
    enforce_rate_limit(INIT_LIMIT, source_ip)
    repo = pairing_repository()
    now = utcnow()
    for _ in range(_ATTEMPTS):
        device_code = secrets.token_hex(DEVICE_CODE_BYTES)
        raw_token = new_client_token()
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
        flow = PairingFlow(
            device_code_hash=_hash(device_code),
            user_code=user_code,
            client_device_identifier=payload.client_device_identifier,
            name=payload.name,
            client=payload.client,
            platform=payload.platform,
            client_version=payload.client_version,
            requested_scopes=payload.requested_scopes,
            interval=POLL_INTERVAL_SECONDS,
            expires_at=now + timedelta(seconds=PENDING_SECONDS),
            token_hash=hash_client_token(raw_token),
            sealed_token=_seal(raw_token, device_code),
        )
        try:
            repo.create(flow, now)
        except ConcurrentUpdate:
            continue  # a live flow holds this user code: draw another
        return DeviceAuthInitResponse(
            device_code=device_code,
            user_code=user_code,
            verification_path=VERIFICATION_PATH,
            verification_path_complete=f"{VERIFICATION_PATH}?{urlencode({'user_code': user_code})}",
            expires_in=PENDING_SECONDS,
            interval=POLL_INTERVAL_SECONDS,
        )
    raise RuntimeError("Could not allocate a user code")


def pending_request(principal: Principal, user_code: str) -> DeviceAuthPendingSchema:
    """What the device asked for, and which of it the caller's account may grant."""
    flow = _pending_flow(user_code, utcnow())
    return DeviceAuthPendingSchema(
        client_device_identifier=flow.client_device_identifier,
        name=flow.name,
        client=flow.client,
        platform=flow.platform,
        client_version=flow.client_version,
        requested_scopes=sorted(flow.requested_scopes),
        allowed_scopes=sorted(set(flow.requested_scopes) & _account_scopes(principal)),
        expires_at=flow.expires_at,
    )


def approve_pairing(principal: Principal, payload: DeviceAuthApprovePayload) -> DeviceAuthApproveResponse:
    """Create or reuse the caller's device for the flow's identifier and mint a token bound to it.

    The scopes must be a non-empty subset of requested ∩ the caller's account (role) scopes, not of
    the approving credential's. Flow, device, identifier pointer and token commit in one transaction.
    """
    repo = pairing_repository()
    devices = DevicesRepository(table())
    users = UsersRepository(table())
    for _ in range(_ATTEMPTS):
        now = utcnow()
        flow = _pending_flow(payload.user_code, now)
        approved_scopes = set(payload.approved_scopes)
        if not approved_scopes <= set(flow.requested_scopes) & _account_scopes(principal):
            raise Forbidden(SCOPES_EXCEEDED)
        device_name = payload.device_name or flow.name
        device_id, writes = _device_writes(repo, devices, principal.user_id, flow, device_name, now)
        days = EXPIRES_IN_DAYS[payload.expires_in or "never"]
        token = ClientTokenRecord(
            id=new_int_id(),
            name=device_name,
            scopes=sorted(approved_scopes),
            user_id=principal.user_id,
            username=principal.username,
            expires_at=now + timedelta(days=days) if days else None,
            created_at=now,
            device_id=device_id,
            token_hash=flow.token_hash,
        )
        approved = flow.model_copy(
            update={"device_id": device_id, "scopes": token.scopes, "token_expires_at": token.expires_at}
        )
        try:
            repo.approve(flow, approved, [*writes, *users.client_token_writes(token)], now)
        except ConcurrentUpdate:
            # Re-read and decide again: the flow was decided or expired (404), the token limit is
            # reached (400), or another approval paired this identifier meanwhile (retry).
            user = users.get(principal.username)
            if user is not None and user.client_token_count >= MAX_CLIENT_TOKENS:
                raise BadRequest(TOO_MANY_CLIENT_TOKENS) from None
            continue
        return DeviceAuthApproveResponse(device_id=device_id, device_name=device_name)
    raise RuntimeError("Could not commit the approval")


def deny_pairing(payload: DeviceAuthDenyPayload) -> None:
    """Refuse the flow: its user code goes, and its device code answers access_denied for a minute."""
    now = utcnow()
    flow = _pending_flow(payload.user_code, now)
    try:
        pairing_repository().deny(flow, now, until=now + timedelta(seconds=DENIED_SECONDS))
    except ConcurrentUpdate as exc:
        raise NotFound(UNKNOWN_CODE) from exc  # decided or expired meanwhile


def poll_token(source_ip: str, payload: DeviceAuthTokenPayload) -> DeviceAuthTokenResponse:
    """The device's poll (rate-limited per source address): RFC 8628's refusals as 400s, or the token once."""
    enforce_rate_limit(POLL_LIMIT, source_ip)
    repo = pairing_repository()
    now = utcnow()
    device_code_hash = _hash(payload.device_code)
    flow = repo.record_poll(device_code_hash, now)  # as it was before this poll
    if flow is None or not flow.is_live(now):
        raise BadRequest("expired_token")
    if flow.status == FlowStatus.DENIED:
        raise BadRequest("access_denied")
    if flow.status == FlowStatus.PENDING:
        # Every poll restarts the clock, so a device polling too fast hears slow_down each time.
        if flow.last_poll_at is not None and now - flow.last_poll_at < timedelta(seconds=flow.interval):
            raise BadRequest("slow_down")
        raise BadRequest("authorization_pending")
    taken = repo.take_approved(device_code_hash, now)
    if taken is None or taken.device_id is None:
        raise BadRequest("expired_token")  # another poll took it first
    return DeviceAuthTokenResponse(
        access_token=_unseal(taken.sealed_token, payload.device_code),
        device_id=taken.device_id,
        scopes=taken.scopes or [],
        expires_at=taken.token_expires_at,
    )


def _pending_flow(user_code: str, now: datetime) -> PairingFlow:
    code = _normalize_user_code(user_code)
    flow = pairing_repository().flow_for_user_code(code) if _plausible_user_code(code) else None
    if flow is None or flow.status != FlowStatus.PENDING or not flow.is_live(now):
        raise NotFound(UNKNOWN_CODE)
    return flow


def _device_writes(
    repo: DeviceAuthRepository,
    devices: DevicesRepository,
    user_id: int,
    flow: PairingFlow,
    device_name: str,
    now: datetime,
) -> tuple[str, list[dict]]:
    """The device the flow pairs (the one already paired with its identifier, else a new one) and the
    writes that commit it: reused devices get the new name, last_seen and client_version."""
    identifier = flow.client_device_identifier
    paired_id = repo.paired_device_id(user_id, identifier)
    paired = devices.get(user_id, paired_id, consistent=True) if paired_id else None
    if paired is not None and paired.client_device_identifier == identifier:
        changes = {"name": device_name, "last_seen": iso(now)}
        if flow.client_version is not None:
            changes["client_version"] = flow.client_version
        return paired.id, [devices.update_write(user_id, paired.id, changes, iso(now))]
    # Never paired, or its device was deleted or given another identifier since: a new device.
    device = DeviceRecord(
        id=new_uuid(),
        user_id=user_id,
        name=device_name,
        platform=flow.platform,
        client=flow.client,
        client_version=flow.client_version,
        client_device_identifier=identifier,
        sync_mode=SyncMode.API,
        sync_enabled=True,
        last_seen=iso(now),
        created_at=iso(now),
        updated_at=iso(now),
    )
    return device.id, [
        devices.create_write(device),
        repo.paired_device_write(user_id, identifier, device.id, replaces=paired_id),
    ]


def _account_scopes(principal: Principal) -> frozenset[str]:
    return ROLE_SCOPES[Role(principal.role)]


def _normalize_user_code(user_code: str) -> str:
    """People type codes with dashes, spaces and in lower case."""
    return user_code.replace("-", "").replace(" ", "").upper()


def _plausible_user_code(user_code: str) -> bool:
    return len(user_code) == USER_CODE_LENGTH and all(c in USER_CODE_ALPHABET for c in user_code)


def _hash(device_code: str) -> str:
    return hashlib.sha256(device_code.encode()).hexdigest()


def _seal(raw_token: str, device_code: str) -> str:
    """The token's 32 secret bytes XOR a pad only the device code yields (one token per code)."""
    secret = bytes.fromhex(raw_token.removeprefix(CLIENT_TOKEN_PREFIX))
    return _xor(secret, _pad(device_code)).hex()


def _unseal(sealed_token: str, device_code: str) -> str:
    return CLIENT_TOKEN_PREFIX + _xor(bytes.fromhex(sealed_token), _pad(device_code)).hex()


def _pad(device_code: str) -> bytes:
    return hashlib.sha256(b"cloudsaves-device-token:" + device_code.encode()).digest()


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))
