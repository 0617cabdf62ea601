"""Device pairing without AWS: codes, the sealed token, the payload rules RomM applies."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from cloudsaves.auth.scopes import Scope
from cloudsaves.auth.tokens import is_client_token, new_client_token
from cloudsaves.models.device_auth import DeviceAuthInitPayload, PairingFlow
from cloudsaves.services import device_auth

INIT = {
    "client_device_identifier": "id",
    "name": "Deck",
    "client": "grout",
    "requested_scopes": ["roms.read"],
}


def test_device_auth_sealed_token_opens_only_with_its_device_code() -> None:
    raw, device_code = new_client_token(), secrets.token_hex(32)

    sealed = device_auth._seal(raw, device_code)

    assert raw.removeprefix("rmm_") != sealed and len(sealed) == 64
    assert device_auth._unseal(sealed, device_code) == raw
    other = device_auth._unseal(sealed, secrets.token_hex(32))
    assert other != raw and is_client_token(other)


def test_device_auth_user_codes_are_normalized_as_people_type_them() -> None:
    assert device_auth._normalize_user_code("ab-cd 23xy") == "ABCD23XY"
    assert device_auth._plausible_user_code("ABCD23XY")
    assert not device_auth._plausible_user_code("ABCD23X")  # too short
    assert not device_auth._plausible_user_code("ABCD230Y")  # 0 is not in the alphabet


def test_device_auth_alphabet_has_no_look_alikes() -> None:
    assert not set("01ILO") & set(device_auth.USER_CODE_ALPHABET)
    assert len(set(device_auth.USER_CODE_ALPHABET)) == len(device_auth.USER_CODE_ALPHABET) == 31


def test_device_auth_init_takes_up_to_as_many_scopes_as_romm_has_names_duplicates_included() -> None:
    names = [str(scope) for scope in Scope]
    at_most = [*names, *names][: len(Scope)]

    assert (
        DeviceAuthInitPayload.model_validate({**INIT, "requested_scopes": at_most}).requested_scopes
        == at_most
    )
    with pytest.raises(ValidationError):
        DeviceAuthInitPayload.model_validate({**INIT, "requested_scopes": [*at_most, names[0]]})
    with pytest.raises(ValidationError, match="Unknown scopes: nope"):
        DeviceAuthInitPayload.model_validate({**INIT, "requested_scopes": ["roms.read", "nope", "nope"]})


def test_device_auth_flow_is_live_strictly_before_its_expiry() -> None:
    expires = datetime(2026, 1, 1, tzinfo=UTC)
    flow = PairingFlow(
        device_code_hash="h",
        user_code="ABCDEFGH",
        client_device_identifier="id",
        name="Deck",
        client="grout",
        requested_scopes=["roms.read"],
        interval=5,
        expires_at=expires,
        token_hash="t",
        sealed_token="s",
    )

    assert flow.is_live(expires - timedelta(microseconds=1))
    assert not flow.is_live(expires)
