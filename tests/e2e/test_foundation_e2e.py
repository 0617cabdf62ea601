"""Foundation end to end over HTTP on the local stack: tokens, Basic, client tokens, scopes, users, ROMs."""

from __future__ import annotations

import uuid

import pytest
import requests

ROM = {
    "name": "Chrono Trigger",
    "fs_name": "Chrono Trigger (USA).sfc",
    "platform_id": 19,
    "platform_slug": "snes",
    "platform_fs_slug": "snes",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def password_token(stack, username: str, password: str, **extra: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/api/token", data={"username": username, "password": password, **extra}, timeout=10
    )


@pytest.fixture(scope="module")
def admin_token(local_stack) -> str:
    response = password_token(local_stack, local_stack.admin_username, local_stack.admin_password)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def create_user(stack, admin_token: str, role: str) -> tuple[str, str]:
    username, password = unique(role), "password-" + uuid.uuid4().hex[:8]
    response = requests.post(
        f"{stack.base_url}/api/users",
        json={"username": username, "password": password, "role": role},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return username, password


def test_heartbeat_is_public(local_stack):
    response = requests.get(f"{local_stack.base_url}/api/heartbeat", timeout=10)
    assert response.status_code == 200
    assert response.json()["SYSTEM"]["VERSION"]


def test_admin_creates_editor_who_lists_and_writes_roms(local_stack, admin_token):
    username, password = create_user(local_stack, admin_token, "editor")
    token = password_token(local_stack, username, password).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    rom_id = uuid.uuid4().int % 10**12 + 10**9  # ids of its own: other e2e modules share the stack
    put = requests.put(f"{local_stack.base_url}/api/roms/{rom_id}", json=ROM, headers=headers, timeout=10)
    assert put.status_code == 200 and put.json()["id"] == rom_id
    page = requests.get(f"{local_stack.base_url}/api/roms", params={"limit": 1}, headers=headers, timeout=10)
    assert page.status_code == 200
    assert set(page.json()) == {"items", "total", "limit", "offset"} and page.json()["limit"] == 1
    got = requests.get(f"{local_stack.base_url}/api/roms/{rom_id}", auth=(username, password), timeout=10)
    assert got.json()["name"] == "Chrono Trigger"


def test_viewer_lacks_roms_write_403(local_stack, admin_token):
    username, password = create_user(local_stack, admin_token, "viewer")
    response = requests.put(
        f"{local_stack.base_url}/api/roms/1", json=ROM, auth=(username, password), timeout=10
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Forbidden"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Basic %%%"},
    ],
)
def test_bad_or_missing_credentials_are_401(local_stack, headers):
    response = requests.get(
        f"{local_stack.base_url}/api/roms", params={"limit": 1}, headers=headers, timeout=10
    )
    assert response.status_code == 401


def test_me_reports_the_caller(local_stack, admin_token):
    response = requests.get(
        f"{local_stack.base_url}/api/users/me", headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["username"] == local_stack.admin_username and response.json()["role"] == "admin"


def test_client_token_flow(local_stack, admin_token):
    username, password = create_user(local_stack, admin_token, "viewer")
    created = requests.post(
        f"{local_stack.base_url}/api/client-tokens",
        auth=(username, password),
        json={"name": "handheld", "scopes": ["roms.read"]},
        timeout=10,
    )
    assert created.status_code == 201
    bearer = {"Authorization": f"Bearer {created.json()['raw_token']}"}
    assert requests.get(f"{local_stack.base_url}/api/roms", headers=bearer, timeout=10).status_code == 200
    # The token's scopes, not the role's: me.read was not granted.
    assert requests.get(f"{local_stack.base_url}/api/users/me", headers=bearer, timeout=10).status_code == 403
    token_id = created.json()["id"]
    deleted = requests.delete(
        f"{local_stack.base_url}/api/client-tokens/{token_id}", auth=(username, password), timeout=10
    )
    assert deleted.status_code == 204
    assert requests.get(f"{local_stack.base_url}/api/roms", headers=bearer, timeout=10).status_code == 401


def test_refresh_grant_over_http(local_stack):
    first = password_token(local_stack, local_stack.admin_username, local_stack.admin_password).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert requests.post(f"{local_stack.base_url}/api/token", data=form, timeout=10).status_code == 200
    reused = requests.post(f"{local_stack.base_url}/api/token", data=form, timeout=10)
    assert reused.status_code == 401 and "detail" in reused.json()


def test_unknown_route_is_404(local_stack, admin_token):
    response = requests.get(
        f"{local_stack.base_url}/api/nope", headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
    )
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/roms/abc", "/api/roms/-1"])
def test_bad_path_types_are_4xx(local_stack, admin_token, path):
    response = requests.get(
        f"{local_stack.base_url}{path}", headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
    )
    assert response.status_code == 422 and "detail" in response.json()
