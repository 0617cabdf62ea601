"""`cloudsaves login URL`: device pairing (RFC 8628, the server's /api/auth/device/*) or a password.

Either way the device ends up with a client token bound to one device record, stored 0600 in the config
directory; the password itself is never stored. The device is registered once per config directory: its
random `client_device_identifier` makes pairing find it again, and a password login reuses the stored
device when the server still has it.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable
from pathlib import Path

from cloudsaves_client import __version__
from cloudsaves_client.api import CLIENT_SCOPES, Api
from cloudsaves_client.config import Credentials, device_identifier
from cloudsaves_client.errors import ApiError, AuthError, ClientError, NotLoggedIn, ServerError

CLIENT_NAME = "cloudsaves"
Say = Callable[[str], None]


def default_device_name() -> str:
    return socket.gethostname() or "cloudsaves device"


def _device_fields(name: str, identifier: str) -> dict[str, str]:
    return {
        "name": name,
        "client": CLIENT_NAME,
        "client_version": __version__,
        "platform": platform.system().lower() or "unknown",
        "client_device_identifier": identifier,
    }


def with_password(
    url: str, username: str, password: str, device_name: str | None, directory: Path | None, say: Say
) -> Credentials:
    api = Api(url)
    try:
        api.use_token(api.password_token(username, password))
    except AuthError as error:
        raise AuthError("wrong username or password", "check them and try again") from error
    except ApiError as error:
        raise AuthError(f"the server refused the login: {error.detail}") from error
    device_id, name = _registered_device(api, url, device_name, directory, say)
    token = api.create_client_token(f"{CLIENT_NAME} on {name}", device_id)
    _revoke_earlier_tokens(api, device_id, keep=token["id"])
    return Credentials(api.url, str(token["raw_token"]), device_id, name, username)


def _revoke_earlier_tokens(api: Api, device_id: str, keep: int) -> None:
    """Logging in again replaces this client's token for the device (a user may hold only 25)."""
    for token in api.client_tokens():
        mine = token.get("device_id") == device_id and str(token.get("name", "")).startswith(
            f"{CLIENT_NAME} on "
        )
        if mine and token["id"] != keep:
            api.delete_client_token(int(token["id"]))


def _registered_device(
    api: Api, url: str, device_name: str | None, directory: Path | None, say: Say
) -> tuple[str, str]:
    """The device stored by an earlier login to this server when the server still has it, else a new one."""
    try:
        previous = Credentials.load(directory)
    except (NotLoggedIn, ClientError):
        previous = None
    if previous is not None and previous.url == api.url:
        try:
            device = api.device(previous.device_id)
            return str(device["id"]), str(device.get("name") or previous.device_name)
        except ApiError as error:
            if error.status != 404:
                raise
    name = device_name or default_device_name()
    # A config directory is one device, even beside another on the same host: never merge by hostname.
    body = {**_device_fields(name, device_identifier(directory)), "allow_duplicate": True}
    created = api.create_device(body)
    say(f"Registered this device as {name!r} ({created['device_id']})")
    return str(created["device_id"]), name


def with_pairing(
    url: str,
    device_name: str | None,
    directory: Path | None,
    say: Say,
    sleep: Callable[[float], None] = time.sleep,
) -> Credentials:
    api = Api(url)
    name = device_name or default_device_name()
    body = {**_device_fields(name, device_identifier(directory)), "requested_scopes": CLIENT_SCOPES}
    try:
        flow = api.pairing_init(body)
    except ApiError as error:
        if error.status in (404, 405):
            raise ServerError(
                f"{api.url} has no device pairing", "log in with a password: --username NAME"
            ) from error
        raise
    code = flow["user_code"]
    path = flow.get("verification_path_complete") or flow.get("verification_path") or "/pair/device"
    say(f"To pair this device, sign in at {api.url}{path}")
    say(f"and approve the code:  {code}")
    say(f"(it expires in {int(flow.get('expires_in', 600)) // 60} minutes; waiting for the approval...)")
    interval = float(flow.get("interval", 5))
    deadline = time.monotonic() + float(flow.get("expires_in", 600))
    while time.monotonic() < deadline:
        sleep(interval)
        try:
            granted = api.pairing_poll(flow["device_code"])
        except ApiError as error:
            word = error.detail
            if word == "authorization_pending":
                continue
            if word == "slow_down" or error.status == 429:
                interval += 5
                continue
            if word == "access_denied":
                raise AuthError("the pairing was denied", "run cloudsaves login again to ask anew") from error
            raise AuthError("the pairing code expired", "run cloudsaves login again") from error
        token = str(granted["access_token"])
        api.use_token(token)
        username = api.me().get("username")
        return Credentials(api.url, token, str(granted["device_id"]), name, username)
    raise AuthError("the pairing code expired", "run cloudsaves login again")
