"""Saves and states over HTTP against the local stack, as a RomM client would use them."""

from __future__ import annotations

import hashlib
import random
import re
import threading
from typing import Any

import pytest
import requests

from tests.assets_support import multipart, zip_bytes
from tests.e2e.conftest import new_user

SLOT_TAG = re.compile(r" \[\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\]\.")


class Client:
    """One user of the stack, with Basic credentials (a device, when named, goes in each call)."""

    def __init__(self, stack: Any, http: requests.Session, auth: Any) -> None:
        self.base = stack.base_url
        self.http = http
        self.auth = auth

    def upload(
        self,
        rom_id: int,
        data: bytes,
        name: str = "game.srm",
        *,
        screenshot: bytes | None = None,
        kind: str = "save",
        session: requests.Session | None = None,
        **query: Any,
    ) -> requests.Response:
        """POST /api/saves (or /api/states) as RomM clients send it; `session`: for other threads."""
        files = {f"{kind}File": (name, data)}
        if screenshot is not None:
            files["screenshotFile"] = ("shot.png", screenshot)
        body, content_type = multipart(files)
        params = {
            "rom_id": rom_id,
            **{k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()},
        }
        return (session or self.http).post(
            f"{self.base}/api/{kind}s",
            params=params,
            data=body,
            headers={"Content-Type": content_type},
            auth=self.auth,
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(f"{self.base}{path}", params=params, auth=self.auth)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(f"{self.base}{path}", json=body, auth=self.auth)

    def device(self, name: str) -> str:
        response = self.http.post(
            f"{self.base}/api/devices", json={"name": name, "allow_duplicate": True}, auth=self.auth
        )
        assert response.status_code == 201, response.text
        return response.json()["device_id"]


@pytest.fixture
def alice(local_stack: Any, http: requests.Session) -> Client:
    return Client(local_stack, http, new_user(local_stack, http, "saves"))


@pytest.fixture
def bob(local_stack: Any, http: requests.Session) -> Client:
    return Client(local_stack, http, new_user(local_stack, http, "saves"))


@pytest.fixture
def rom_id(local_stack: Any, http: requests.Session) -> int:
    rom = random.randrange(10**9, 2 * 10**9)
    response = http.put(
        f"{local_stack.base_url}/api/roms/{rom}",
        json={
            "name": "Emerald",
            "fs_name": "emerald.gba",
            "platform_id": 7,
            "platform_slug": "gba",
            "platform_fs_slug": "gba",
        },
        auth=(local_stack.admin_username, local_stack.admin_password),
    )
    assert response.status_code == 200, response.text
    return rom


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- the conflict guard under real concurrency -----------------------------------------------------


def concurrently(client: Client, rom_id: int, uploads: list[dict[str, Any]]) -> list[requests.Response]:
    """Send the uploads at the same moment (one thread and connection each); answers in the same order."""
    barrier = threading.Barrier(len(uploads))
    answers: list[requests.Response | None] = [None] * len(uploads)

    def send(index: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            answers[index] = client.upload(rom_id, session=session, **uploads[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(uploads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def test_saves_e2e_racing_devices_exactly_one_wins_each_round(alice: Client, rom_id: int) -> None:
    # Given two devices synced to the same latest save of a slot
    laptop, deck = alice.device("Laptop"), alice.device("Deck")
    base = alice.upload(rom_id, b"base", slot="race", device_id=laptop)
    assert base.status_code == 200, base.text
    assert alice.post(f"/api/saves/{base.json()['id']}/downloaded", {"device_id": deck}).status_code == 200
    rounds = 20
    for number in range(rounds):
        # When both upload different bytes to the slot at the same moment
        devices = [laptop, deck]
        answers = concurrently(
            alice,
            rom_id,
            [{"data": f"{d}-{number}".encode(), "slot": "race", "device_id": d} for d in devices],
        )
        # Then exactly one wins; the other gets RomM's 409
        assert sorted(a.status_code for a in answers) == [200, 409], [
            (a.status_code, a.text) for a in answers
        ]
        winner = next(a.json() for a in answers if a.status_code == 200)
        loser = devices[[a.status_code for a in answers].index(409)]
        assert answers[devices.index(loser)].json() == {
            "detail": "Slot has a newer save since your last sync"
        }
        assert alice.post(f"/api/saves/{winner['id']}/downloaded", {"device_id": loser}).status_code == 200
    # And the slot holds exactly one new save per round: nothing lost, nothing extra
    listed = alice.get("/api/saves", rom_id=rom_id, slot="race").json()
    assert len(listed) == len({s["id"] for s in listed}) == rounds + 1


def test_saves_e2e_same_second_uploads_to_one_slot_are_both_kept(alice: Client, rom_id: int) -> None:
    answers = concurrently(
        alice, rom_id, [{"data": data, "name": "same.srm", "slot": "quick"} for data in (b"first", b"second")]
    )
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    listed = alice.get("/api/saves", rom_id=rom_id, slot="quick").json()
    assert sorted(s["content_hash"] for s in listed) == sorted([md5(b"first"), md5(b"second")])


# --- upload rules ----------------------------------------------------------------------------------


def test_saves_e2e_upload_tags_hashes_and_downloads(alice: Client, rom_id: int) -> None:
    members = {"save/b.srm": b"bravo", "save/a.srm": b"alpha"}
    archive = zip_bytes(members)
    created = alice.upload(
        rom_id,
        archive,
        "Emerald [2001-02-03_04-05-06].zip",
        slot="main",
        emulator="mgba",
        screenshot=b"\x89PNG",
    )
    assert created.status_code == 200, created.text
    save = created.json()
    expected = md5("\n".join(f"{n}:{md5(members[n])}" for n in sorted(members)).encode())
    assert save["content_hash"] == expected
    assert SLOT_TAG.search(save["file_name"]) and "2001" not in save["file_name"]
    assert save["file_name_no_tags"] == "Emerald" and save["file_extension"] == "zip"
    assert save["screenshot"]["file_name"] == "shot.png"
    content = alice.get(save["download_path"].split("?")[0], timestamp=save["updated_at"])
    assert content.status_code == 200 and content.content == archive
    assert "attachment" in content.headers["Content-Disposition"]


def test_saves_e2e_accepts_requests_own_multipart_encoding(alice: Client, rom_id: int) -> None:
    response = alice.http.post(
        f"{alice.base}/api/saves",
        params={"rom_id": rom_id, "emulator": "snes9x"},
        files={"saveFile": ("Chrono Trigger (USA).srm", b"\x00\x01" * 4096)},
        auth=alice.auth,
    )
    assert response.status_code == 200, response.text
    assert (
        response.json()["file_size_bytes"] == 8192
        and response.json()["file_name_no_tags"] == "Chrono Trigger"
    )


def test_saves_e2e_dedup_and_same_name_update(alice: Client, rom_id: int) -> None:
    first = alice.upload(rom_id, b"same", slot="dedup").json()
    again = alice.upload(rom_id, b"same", slot="dedup").json()
    assert again["id"] == first["id"]
    named = alice.upload(rom_id, b"v1", "plain.srm").json()
    updated = alice.upload(rom_id, b"v2", "plain.srm").json()
    assert updated["id"] == named["id"] and updated["content_hash"] == md5(b"v2")
    assert alice.get(f"/api/saves/{named['id']}/content").content == b"v2"


def test_saves_e2e_autocleanup_keeps_exactly_n(alice: Client, rom_id: int) -> None:
    ids = [
        alice.upload(rom_id, f"v{i}".encode(), slot="auto", autocleanup=True, autocleanup_limit=3).json()[
            "id"
        ]
        for i in range(5)
    ]
    listed = alice.get("/api/saves", rom_id=rom_id, slot="auto").json()
    assert [s["id"] for s in listed] == list(reversed(ids))[:3]
    assert alice.get(f"/api/saves/{ids[0]}/content").status_code == 404
    summary = alice.get("/api/saves/summary", rom_id=rom_id).json()
    assert summary["total_count"] == 3 and summary["slots"][0]["count"] == 3


def test_saves_e2e_put_with_stale_device_is_409_and_overwrite_succeeds(alice: Client, rom_id: int) -> None:
    laptop, deck = alice.device("Laptop"), alice.device("Deck")
    save = alice.upload(rom_id, b"one", "put.srm", device_id=deck).json()
    assert alice.upload(rom_id, b"two", "put.srm", device_id=laptop).status_code == 200
    body, content_type = multipart({"saveFile": ("put.srm", b"three")})
    url = f"{alice.base}/api/saves/{save['id']}"
    headers = {"Content-Type": content_type}
    stale = alice.http.put(url, params={"device_id": deck}, data=body, headers=headers, auth=alice.auth)
    assert stale.status_code == 409
    assert stale.json() == {"detail": "Save has been updated since your last sync"}
    forced = alice.http.put(
        url, params={"device_id": deck, "overwrite": "true"}, data=body, headers=headers, auth=alice.auth
    )
    assert forced.status_code == 200 and forced.json()["content_hash"] == md5(b"three")
    assert forced.json()["device_syncs"][0] == {
        **forced.json()["device_syncs"][0],
        "device_id": deck,
        "is_current": True,
    }


def test_saves_e2e_slot_guard_and_device_syncs(alice: Client, rom_id: int) -> None:
    laptop, deck = alice.device("Laptop"), alice.device("Deck")
    first = alice.upload(rom_id, b"one", slot="s", device_id=laptop).json()
    refused = alice.upload(rom_id, b"two", slot="s", device_id=deck)
    assert refused.status_code == 409
    assert (
        alice.upload(rom_id, b"one", slot="s", device_id=deck).status_code == 409
    )  # the guard runs before dedup
    view = alice.get(f"/api/saves/{first['id']}", device_id=deck).json()
    assert [(e["device_id"], e["is_current"]) for e in view["device_syncs"]] == [
        (deck, False),
        (laptop, True),
    ]
    listed = alice.get("/api/saves", rom_id=rom_id, device_id=laptop).json()
    assert listed[0]["device_syncs"][0]["device_name"] == "Laptop"
    assert alice.get("/api/saves", rom_id=rom_id).json()[0]["device_syncs"] == []


# --- visibility, delete, paging -----------------------------------------------------------------


def test_saves_e2e_public_save_downloads_for_another_user_only(
    alice: Client, bob: Client, rom_id: int
) -> None:
    save = alice.upload(rom_id, b"shared").json()
    assert bob.get(f"/api/saves/{save['id']}/content").status_code == 404
    made_public = alice.http.put(
        f"{alice.base}/api/saves/{save['id']}/visibility", json={"is_public": True}, auth=alice.auth
    )
    assert made_public.status_code == 200 and made_public.json()["updated_at"] == save["updated_at"]
    assert bob.get(f"/api/saves/{save['id']}/content").content == b"shared"
    assert bob.get(f"/api/saves/{save['id']}").status_code == 404
    refused = bob.http.put(
        f"{bob.base}/api/saves/{save['id']}/visibility", json={"is_public": False}, auth=bob.auth
    )
    assert refused.status_code == 404


def test_saves_e2e_delete_with_a_foreign_id_deletes_nothing(alice: Client, bob: Client, rom_id: int) -> None:
    mine = [alice.upload(rom_id, f"{i}".encode(), f"{i}.srm").json()["id"] for i in range(2)]
    theirs = bob.upload(rom_id, b"bob").json()["id"]
    refused = alice.post("/api/saves/delete", {"saves": [*mine, theirs]})
    assert refused.status_code == 404
    assert sorted(alice.get("/api/saves/identifiers").json()) == sorted(mine)
    assert alice.post("/api/saves/delete", {"saves": mine}).json() == mine
    assert alice.get("/api/saves/identifiers").json() == []
    assert alice.post("/api/saves/delete", {"saves": list(range(1, 102))}).status_code == 400


def test_saves_e2e_lists_page_with_a_cursor(alice: Client, rom_id: int) -> None:
    ids = [alice.upload(rom_id, f"{i}".encode(), f"{i}.srm").json()["id"] for i in range(3)]
    first = alice.get("/api/saves", limit=2)
    assert len(first.json()) == 2 and first.headers["X-Next-Cursor"]
    second = alice.get("/api/saves", limit=2, cursor=first.headers["X-Next-Cursor"])
    assert [s["id"] for s in first.json() + second.json()] == list(reversed(ids))
    assert "X-Next-Cursor" not in second.headers
    for bad in ("-1", "0", "1001", "1e99"):
        assert alice.get("/api/saves", limit=bad).status_code == 422


# --- bad input, size, auth ---------------------------------------------------------------------


def test_saves_e2e_oversized_multipart_body_is_413(alice: Client, rom_id: int) -> None:
    response = alice.upload(rom_id, b"\x00" * (4 * 1024 * 1024 + 4096))
    assert response.status_code == 413
    assert "/api/saves/uploads" in response.json()["detail"]
    assert alice.get("/api/saves", rom_id=rom_id).json() == []


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [("..", b"x", 400), ("\x00", b"x", 400), ("ok.srm", b"", 400), (None, b"x", 400)],
)
def test_saves_e2e_bad_files_are_refused_and_leave_nothing(
    alice: Client, rom_id: int, name, data, status
) -> None:
    body, content_type = multipart({"saveFile": (name, data)})
    response = alice.http.post(
        f"{alice.base}/api/saves",
        params={"rom_id": rom_id},
        data=body,
        headers={"Content-Type": content_type},
        auth=alice.auth,
    )
    assert response.status_code == status and "detail" in response.json()
    assert alice.get("/api/saves", rom_id=rom_id).json() == []


def test_saves_e2e_other_bad_requests(alice: Client, rom_id: int) -> None:
    traversal = alice.upload(rom_id, b"x", "../../../../etc/passwd", emulator="../..")
    assert traversal.status_code == 200 and traversal.json()["file_name"] == "passwd"
    assert ".." not in traversal.json()["file_path"].split("/")
    assert alice.upload(4242, b"x").status_code == 404
    malformed = alice.http.post(
        f"{alice.base}/api/saves",
        params={"rom_id": rom_id},
        data=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        auth=alice.auth,
    )
    assert malformed.status_code == 400
    assert alice.get("/api/saves/not-a-number").status_code == 422
    assert alice.post("/api/saves/delete", {"saves": "nope"}).status_code == 422
    assert alice.post("/api/saves/delete", {"saves": []}).status_code == 400


ROUTES = [
    ("POST", "/api/saves", "assets.write"),
    ("GET", "/api/saves", "assets.read"),
    ("GET", "/api/saves/identifiers", "assets.read"),
    ("GET", "/api/saves/summary", "assets.read"),
    ("GET", "/api/saves/{id}", "assets.read"),
    ("GET", "/api/saves/{id}/content", "assets.read"),
    ("PUT", "/api/saves/{id}", "assets.write"),
    ("PUT", "/api/saves/{id}/visibility", "assets.write"),
    ("POST", "/api/saves/delete", "assets.write"),
    ("POST", "/api/saves/{id}/downloaded", "devices.write"),
    ("POST", "/api/saves/{id}/track", "devices.write"),
    ("POST", "/api/saves/{id}/untrack", "devices.write"),
    ("POST", "/api/states", "assets.write"),
    ("GET", "/api/states", "assets.read"),
    ("GET", "/api/states/identifiers", "assets.read"),
    ("GET", "/api/states/{id}", "assets.read"),
    ("GET", "/api/states/{id}/content", "assets.read"),
    ("PUT", "/api/states/{id}", "assets.write"),
    ("PUT", "/api/states/{id}/visibility", "assets.write"),
    ("POST", "/api/states/delete", "assets.write"),
]


def _request(
    client_http: requests.Session,
    base: str,
    method: str,
    path: str,
    asset_id: int,
    rom_id: int,
    device: str,
    **auth: Any,
) -> requests.Response:
    kind = "states" if "/states" in path else "saves"
    url = base + path.replace("{id}", str(asset_id))
    params: dict[str, Any] = {"rom_id": rom_id} if path.endswith(("/saves", "/states", "/summary")) else {}
    kwargs: dict[str, Any] = {"params": params, **auth}
    if path.endswith("/delete"):
        kwargs["json"] = {kind: [asset_id]}
    elif path.endswith("/visibility"):
        kwargs["json"] = {"is_public": True}
    elif path.endswith(("/downloaded", "/track", "/untrack")):
        kwargs["json"] = {"device_id": device}
    elif method in ("POST", "PUT"):
        body, content_type = multipart({("stateFile" if kind == "states" else "saveFile"): ("x.srm", b"x")})
        kwargs.update(data=body, headers={**kwargs.get("headers", {}), "Content-Type": content_type})
    return client_http.request(method, url, **kwargs)


def test_saves_e2e_every_route_answers_401_403_and_404(
    local_stack: Any, http: requests.Session, alice: Client, bob: Client, rom_id: int
) -> None:
    save_id = bob.upload(rom_id, b"bob").json()["id"]
    state_id = bob.upload(rom_id, b"bob-state", "b.state", kind="state").json()["id"]
    device = alice.device("Deck")
    token = http.post(
        f"{local_stack.base_url}/api/token",
        data={"username": alice.auth[0], "password": alice.auth[1], "scope": "me.read"},
    ).json()
    narrow = {"headers": {"Authorization": f"Bearer {token['access_token']}"}}
    garbage = {"headers": {"Authorization": "Bearer not-a-token"}}
    for method, path, _scope in ROUTES:
        asset_id = state_id if "/states" in path else save_id
        anonymous = _request(http, local_stack.base_url, method, path, asset_id, rom_id, device)
        assert anonymous.status_code == 401, (method, path, anonymous.text)  # API Gateway's own, no header
        forged = _request(http, local_stack.base_url, method, path, asset_id, rom_id, device, **garbage)
        assert forged.status_code == 401, (method, path, forged.text)
        assert forged.headers.get("WWW-Authenticate") == "Bearer"
        forbidden = _request(http, local_stack.base_url, method, path, asset_id, rom_id, device, **narrow)
        assert forbidden.status_code == 403, (method, path, forbidden.text)
        if "{id}" in path or path.endswith("/delete"):
            foreign = _request(
                http, local_stack.base_url, method, path, asset_id, rom_id, device, auth=alice.auth
            )
            assert foreign.status_code == 404, (method, path, foreign.text)


def test_states_e2e_round_trip(alice: Client, bob: Client, rom_id: int) -> None:
    created = alice.upload(
        rom_id, b"state-1", "emerald.ss1", kind="state", emulator="mgba", screenshot=b"png"
    )
    assert created.status_code == 200, created.text
    state = created.json()
    assert state["content_hash"] == md5(b"state-1") and "device_syncs" not in state
    again = alice.upload(rom_id, b"state-2", "emerald.ss1", kind="state").json()
    assert again["id"] == state["id"] and again["screenshot"]["file_name"] == "shot.png"
    assert alice.get(f"/api/states/{state['id']}/content").content == b"state-2"
    assert [s["id"] for s in alice.get("/api/states", rom_id=rom_id).json()] == [state["id"]]
    assert alice.get("/api/states/identifiers").json() == [state["id"]]
    public = alice.http.put(
        f"{alice.base}/api/states/{state['id']}/visibility", json={"is_public": True}, auth=alice.auth
    )
    assert public.json()["is_public"] is True
    assert bob.get(f"/api/states/{state['id']}/content").content == b"state-2"
    assert alice.post("/api/states/delete", {"states": [state["id"]]}).json() == [state["id"]]
    assert alice.get(f"/api/states/{state['id']}").status_code == 404


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def test_saves_e2e_device_bound_token_syncs_as_its_device(alice: Client, rom_id: int) -> None:
    device = alice.device("handheld")
    created = alice.post(
        "/api/client-tokens",
        {"name": "handheld", "scopes": ["assets.read", "assets.write"], "device_id": device},
    )
    assert created.status_code == 201, created.text
    handheld = Client.__new__(Client)
    handheld.base, handheld.http, handheld.auth = (
        alice.base,
        alice.http,
        _BearerAuth(created.json()["raw_token"]),
    )

    # No device_id and no devices.* scope: the token's own device is used.
    uploaded = handheld.upload(rom_id, b"progress", slot="main")
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["origin_device_id"] == device
    assert [s["device_id"] for s in uploaded.json()["device_syncs"]] == [device]
    listed = handheld.get("/api/saves", rom_id=rom_id)
    assert listed.status_code == 200 and listed.json()[0]["device_syncs"][0]["is_current"] is True
    # Naming a device explicitly still needs the devices scope.
    assert handheld.get("/api/saves", rom_id=rom_id, device_id=device).status_code == 403


@pytest.mark.parametrize("kind", ["save", "state"])
def test_saves_e2e_screenshot_download_path_serves_it_with_the_assets_access(
    alice: Client, bob: Client, rom_id: int, kind: str
) -> None:
    shot = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    asset = alice.upload(rom_id, b"progress", screenshot=shot, kind=kind).json()
    path = asset["screenshot"]["download_path"]
    assert path.startswith(f"/api/{kind}s/{asset['id']}/screenshot?timestamp=")
    assert alice.get(path).content == shot
    assert bob.get(path).status_code == 404  # private: as the asset itself
    alice.http.put(
        f"{alice.base}/api/{kind}s/{asset['id']}/visibility", json={"is_public": True}, auth=alice.auth
    )
    assert bob.get(path).content == shot
    bare = alice.upload(rom_id, b"no picture", "bare.srm", kind=kind).json()
    assert alice.get(f"/api/{kind}s/{bare['id']}/screenshot").status_code == 404
