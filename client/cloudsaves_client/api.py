"""The Cloud Saves API as the client uses it: one `requests` session with urllib3's retries.

Connection failures and 429/502/503/504 answers are retried with backoff (urllib3's `Retry`, honouring
`Retry-After`) on every method: each call the client makes is safe to repeat (a second reservation
expires unused, complete is idempotent, negotiate replaces the session it opened). Failures become the
`errors` a person can act on. Presigned S3 URLs are fetched by a second session that never carries the
`Authorization` header (the URL is the credential).
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cloudsaves_client import __version__
from cloudsaves_client.errors import ApiError, AuthError, Offline, ServerError, UsageError

USER_AGENT = f"cloudsaves/{__version__}"
TIMEOUT = (10, 60)  # connect, read (seconds)
BACKOFF_FACTOR = 0.5  # urllib3: 0, 1, 2 s between the retries of a call
# Every scope the client uses, and no more: ROM catalog, saves/states, its own device, its identity.
CLIENT_SCOPES = ["me.read", "roms.read", "assets.read", "assets.write", "devices.read", "devices.write"]


def _retrying_session(retries: int) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=BACKOFF_FACTOR,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=None,  # every method: see the module docstring
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def storage_session() -> requests.Session:
    """For presigned S3 URLs: no credentials, and no urllib3 retries (a half-sent body cannot be
    replayed by urllib3): `transfer` retries and resumes each transfer itself."""
    return _retrying_session(0)


def checked_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not a server URL", "give its base URL, e.g. https://saves.example.com")
    return url.rstrip("/")


class Api:
    def __init__(self, url: str, token: str | None = None, retries: int = 3) -> None:
        if not url.startswith(("http://", "https://")):
            raise UsageError(
                f"{url!r} is not a server URL", "give its base URL, e.g. https://saves.example.com"
            )
        self.url = url.rstrip("/")
        self.http = _retrying_session(retries)
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    # --- plumbing ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; the JSON answer (None for 204). Raises the client's errors."""
        response = self.raw(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise ServerError(f"{method} {path} answered something that is not JSON") from error

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self.http.request(method, f"{self.url}{path}", **kwargs)
        except requests.exceptions.RetryError as error:
            raise ServerError(f"{self.url} keeps answering errors ({error})", "try again later") from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise Offline(
                f"cannot reach {self.url}", "check the network (or that the server is up), then retry"
            ) from error
        except requests.RequestException as error:  # an invalid URL, a redirect loop...
            raise ServerError(f"{method} {self.url}{path} failed: {error}") from error
        if response.status_code < 400:
            return response
        detail = _detail(response)
        if response.status_code == 401:
            raise AuthError(
                f"the server refused this device's credentials ({detail})",
                f"the token expired or was revoked: run cloudsaves login {self.url}",
            )
        if response.status_code >= 500:
            raise ServerError(f"{method} {path}: the server failed ({response.status_code}: {detail})")
        raise ApiError(response.status_code, detail, method, path)

    # --- identity ---------------------------------------------------------------------------------

    def password_token(self, username: str, password: str) -> str:
        answer = self.call(
            "POST", "/api/token", data={"grant_type": "password", "username": username, "password": password}
        )
        return str(answer["access_token"])

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"

    def me(self) -> dict[str, Any]:
        return dict(self.call("GET", "/api/users/me"))

    def device(self, device_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/devices/{device_id}"))

    def devices(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/devices"))

    def create_device(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "/api/devices", json=body))

    def create_client_token(self, name: str, device_id: str) -> dict[str, Any]:
        """`{id, raw_token, ...}`: a token bound to the device, with the client's scopes only."""
        body = {"name": name, "scopes": CLIENT_SCOPES, "device_id": device_id}
        return dict(self.call("POST", "/api/client-tokens", json=body))

    def client_tokens(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/client-tokens"))

    def delete_client_token(self, token_id: int) -> None:
        self.call("DELETE", f"/api/client-tokens/{token_id}")

    def pairing_init(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "/api/auth/device/init", json=body))

    def pairing_poll(self, device_code: str) -> dict[str, Any]:
        return dict(self.call("POST", "/api/auth/device/token", json={"device_code": device_code}))

    # --- catalog and assets -----------------------------------------------------------------------

    def roms(self) -> list[dict[str, Any]]:
        """Every ROM of the catalog, page by page (RomM's `{items, total, limit, offset}`)."""
        roms: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", "/api/roms", params={"limit": 1000, "offset": len(roms)})
            roms.extend(page["items"])
            if not page["items"] or len(roms) >= page["total"]:
                return roms

    def rom(self, rom_id: int) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/roms/{rom_id}"))

    def assets(self, kind: str, rom_id: int, device_id: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"rom_id": rom_id}
        if device_id:
            params["device_id"] = device_id
        return list(self.call("GET", f"/api/{kind}s", params=params))

    def reserve_upload(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", f"/api/{kind}s/uploads", json=body))

    def complete_upload(self, kind: str, upload_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/api/{kind}s/uploads/{upload_id}/complete", timeout=(10, 300)))

    def download_url(self, kind: str, asset_id: int) -> dict[str, Any]:
        """`{url, expires_at, file_size_bytes, content_hash}`. No device is named: naming one would mark
        the save synced before its bytes are verified here (`confirm_download` does, after)."""
        return dict(self.call("POST", f"/api/{kind}s/{asset_id}/download-url"))

    def confirm_download(self, save_id: int, device_id: str) -> None:
        self.call("POST", f"/api/saves/{save_id}/downloaded", json={"device_id": device_id})

    def delete_states(self, state_ids: list[int]) -> None:
        self.call("POST", "/api/states/delete", json={"states": state_ids})

    # --- sync protocol (API.md section 10) --------------------------------------------------------

    def negotiate(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "/api/sync/negotiate", json=body, timeout=(10, 120)))

    def complete_session(self, session_id: int, completed: int, failed: int) -> dict[str, Any]:
        body = {"operations_completed": completed, "operations_failed": failed}
        return dict(self.call("POST", f"/api/sync/sessions/{session_id}/complete", json=body))

    def sessions(self, device_id: str, limit: int = 5) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/sync/sessions", params={"device_id": device_id, "limit": limit}))


def _detail(response: requests.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    return body.get("detail", body) if isinstance(body, dict) else body
