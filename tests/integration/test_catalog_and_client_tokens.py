"""ROM catalog and client tokens: handlers and services against moto in-process."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, api_event, load_event, load_function, make_principal, response_json
from tests.integration.test_auth_handlers import authorize_header

ROM = {
    "name": "Pokemon Emerald",
    "fs_name": "Pokemon Emerald (USA).gba",
    "platform_id": 7,
    "platform_slug": "gba",
    "platform_fs_slug": "gba",
}


def put_rom(lambda_context, rom_id: int | str, body: dict, role: str = "editor") -> dict:
    event = api_event(
        "PUT",
        f"/api/roms/{rom_id}",
        route="/api/roms/{id}",
        principal=make_principal(role),
        body=body,
        path_params={"id": str(rom_id)},
    )
    return load_function("put_rom").lambda_handler(event, lambda_context)


def list_roms(lambda_context, query: dict) -> dict:
    event = api_event("GET", "/api/roms", principal=make_principal("viewer"), query=query)
    return load_function("list_roms").lambda_handler(event, lambda_context)


def test_put_rom_upserts_and_get_returns_it(aws, lambda_context):
    assert put_rom(lambda_context, 12, ROM)["statusCode"] == 200
    renamed = put_rom(lambda_context, 12, {**ROM, "name": "Emerald"})
    assert response_json(renamed) == {**ROM, "name": "Emerald", "id": 12}
    event = api_event(
        "GET",
        "/api/roms/12",
        route="/api/roms/{id}",
        principal=make_principal("viewer"),
        path_params={"id": "12"},
    )
    fetched = load_function("get_rom").lambda_handler(event, lambda_context)
    assert response_json(fetched)["name"] == "Emerald"


def test_put_rom_needs_roms_write(aws, lambda_context):
    assert put_rom(lambda_context, 12, ROM, role="viewer")["statusCode"] == 403


@pytest.mark.parametrize("rom_id", ["abc", "0", "-3", str(2**53)])
def test_rom_ids_are_validated(aws, lambda_context, rom_id):
    assert put_rom(lambda_context, rom_id, ROM)["statusCode"] == 422


def test_unknown_rom_is_404_with_romm_message(aws, lambda_context):
    event = api_event(
        "GET",
        "/api/roms/99",
        route="/api/roms/{id}",
        principal=make_principal("viewer"),
        path_params={"id": "99"},
    )
    response = load_function("get_rom").lambda_handler(event, lambda_context)
    assert response["statusCode"] == 404
    assert response_json(response) == {"detail": "ROM with ID 99 not found"}


def test_list_roms_pages_and_filters_by_platform(aws, lambda_context):
    for rom_id, platform in [(1, 7), (2, 8), (3, 7), (4, 9)]:
        put_rom(lambda_context, rom_id, {**ROM, "platform_id": platform})
    page = response_json(list_roms(lambda_context, {"limit": "1"}))
    assert page["total"] == 4 and [r["id"] for r in page["items"]] == [1]
    second = response_json(list_roms(lambda_context, {"limit": "2", "offset": "1"}))
    assert [r["id"] for r in second["items"]] == [2, 3]
    filtered = response_json(list_roms(lambda_context, {"platform_ids": ["7", "9"]}))
    assert [r["id"] for r in filtered["items"]] == [1, 3, 4] and filtered["total"] == 3
    single = response_json(list_roms(lambda_context, {"platform_id": "8"}))
    assert [r["id"] for r in single["items"]] == [2]


def test_rom_counts_follow_upserts_and_platform_moves(aws, lambda_context):
    for rom_id, platform in [(1, 7), (2, 7), (3, 8)]:
        put_rom(lambda_context, rom_id, {**ROM, "platform_id": platform})
    put_rom(lambda_context, 2, {**ROM, "platform_id": 7, "name": "renamed"})  # same platform: no change
    put_rom(lambda_context, 1, {**ROM, "platform_id": 8})  # moves from 7 to 8
    assert response_json(list_roms(lambda_context, {"limit": "1"}))["total"] == 3
    assert response_json(list_roms(lambda_context, {"platform_id": "7"}))["total"] == 1
    on_8 = response_json(list_roms(lambda_context, {"platform_id": "8"}))
    assert on_8["total"] == 2 and [r["id"] for r in on_8["items"]] == [1, 3]


def test_rom_page_reads_only_up_to_offset_plus_limit(aws, lambda_context, monkeypatch):
    from cloudsaves.aws import table

    for rom_id in range(1, 31):
        put_rom(lambda_context, rom_id, ROM)
    read: list[int] = []
    real_query = table().query
    monkeypatch.setattr(table(), "query", lambda **kw: read.append(kw["Limit"]) or real_query(**kw))
    page = response_json(list_roms(lambda_context, {"limit": "2", "offset": "3"}))
    assert [r["id"] for r in page["items"]] == [4, 5] and page["total"] == 30
    assert read == [5]


@pytest.mark.parametrize("query", [{"limit": "-1"}, {"limit": "100000"}, {"offset": "x"}])
def test_list_roms_rejects_bad_paging(aws, lambda_context, query):
    assert list_roms(lambda_context, query)["statusCode"] == 422


def test_import_roms_cli(aws, tmp_path, capsys):
    from cloudsaves.cli import main
    from cloudsaves.services.roms import get_rom

    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([{**ROM, "id": 5}, {**ROM, "id": 6, "name": "Ruby"}]))
    assert main(["import-roms", str(catalog)]) == 0
    assert get_rom(6).name == "Ruby"
    catalog.write_text(json.dumps([{"id": "bad"}]))
    assert main(["import-roms", str(catalog)]) == 2


@pytest.fixture
def alice(aws):
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    user = create_user(UserCreate(username="alice", password="password-123", role="viewer"))
    return make_principal("viewer", user_id=user.id, username="alice")


def create_token(lambda_context, principal, body: dict) -> dict:
    event = api_event("POST", "/api/client-tokens", principal=principal, body=body)
    return load_function("create_client_token").lambda_handler(event, lambda_context)


def test_client_token_authenticates_with_its_scopes_only(alice, lambda_context):
    created = create_token(
        lambda_context, alice, {"name": "handheld", "scopes": ["assets.read", "roms.read"]}
    )
    assert created["statusCode"] == 201
    body = response_json(created)
    assert body["raw_token"].startswith("rmm_") and len(body["raw_token"]) == 68
    assert body["expires_at"] is None and body["user_id"] == alice.user_id
    context = authorize_header(lambda_context, f"Bearer {body['raw_token']}")["context"]
    assert context["authenticated"] is True and context["scopes"] == "assets.read roms.read"


def test_client_token_is_stored_hashed_and_listed_without_raw_value(alice, lambda_context):
    raw = response_json(create_token(lambda_context, alice, {"name": "t", "scopes": ["roms.read"]}))[
        "raw_token"
    ]
    event = api_event("GET", "/api/client-tokens", principal=alice)
    listed = load_function("list_client_tokens").lambda_handler(event, lambda_context)
    assert raw not in listed["body"] and [t["name"] for t in response_json(listed)] == ["t"]


def test_client_token_scopes_beyond_role_are_403(alice, lambda_context):
    response = create_token(lambda_context, alice, {"name": "t", "scopes": ["users.write"]})
    assert response["statusCode"] == 403


def test_client_token_expiry_choice_is_validated(alice, lambda_context):
    response = create_token(lambda_context, alice, {"name": "t", "scopes": ["roms.read"], "expires_in": "2d"})
    assert response["statusCode"] == 422
    dated = response_json(
        create_token(lambda_context, alice, {"name": "t", "scopes": ["roms.read"], "expires_in": "30d"})
    )
    assert dated["expires_at"] is not None


def test_client_token_limit_is_25(alice, lambda_context):
    for i in range(25):
        assert (
            create_token(lambda_context, alice, {"name": f"t{i}", "scopes": ["roms.read"]})["statusCode"]
            == 201
        )
    response = create_token(lambda_context, alice, {"name": "t26", "scopes": ["roms.read"]})
    assert response["statusCode"] == 400
    assert response_json(response) == {"detail": "Maximum of 25 tokens per user reached"}


def test_deleted_client_token_stops_working(alice, lambda_context):
    body = response_json(create_token(lambda_context, alice, {"name": "t", "scopes": ["roms.read"]}))
    event = api_event(
        "DELETE",
        f"/api/client-tokens/{body['id']}",
        route="/api/client-tokens/{id}",
        principal=alice,
        path_params={"id": str(body["id"])},
    )
    assert load_function("delete_client_token").lambda_handler(event, lambda_context)["statusCode"] == 204
    assert (
        authorize_header(lambda_context, f"Bearer {body['raw_token']}")["context"]["authenticated"] is False
    )
    again = load_function("delete_client_token").lambda_handler(event, lambda_context)
    assert again["statusCode"] == 404


def test_other_users_client_token_cannot_be_deleted(alice, lambda_context):
    body = response_json(create_token(lambda_context, alice, {"name": "t", "scopes": ["roms.read"]}))
    mallory = make_principal("admin", user_id=999, username="mallory")
    event = api_event(
        "DELETE",
        f"/api/client-tokens/{body['id']}",
        route="/api/client-tokens/{id}",
        principal=mallory,
        path_params={"id": str(body["id"])},
    )
    assert load_function("delete_client_token").lambda_handler(event, lambda_context)["statusCode"] == 404


def test_heartbeat_reports_system_version(lambda_context):
    response = load_function("heartbeat").lambda_handler(api_event("GET", "/api/heartbeat"), lambda_context)
    assert response["statusCode"] == 200
    assert response_json(response)["SYSTEM"]["VERSION"]


def test_events_directory_matches_handlers(aws, lambda_context):
    """Every committed event is a valid API Gateway v2 event for its function's route, or (a function
    with no route) EventBridge's scheduled event."""
    for event_file in sorted((ROOT / "events").glob("*/*.json")):
        event = json.loads(event_file.read_text())
        if event.get("detail-type") == "Scheduled Event":
            assert event["source"] == "aws.events", event_file
            continue
        assert event.get("version") == "2.0", event_file
        # a function URL's events (the RetroArch door) all have the route key $default
        route_method = event["routeKey"].split(" ")[0]
        assert route_method in ("$default", event["requestContext"]["http"]["method"]), event_file


@pytest.mark.parametrize(
    ("event_file", "status"),
    [
        ("heartbeat/get.json", 200),
        ("token/password_grant.json", 200),
        ("create_user/editor.json", 201),
        ("get_current_user/me.json", 200),
        ("create_client_token/handheld.json", 201),
        ("list_client_tokens/mine.json", 200),
        ("delete_client_token/unknown.json", 404),
        ("put_rom/emerald.json", 200),
        ("get_rom/emerald.json", 200),
        ("list_roms/probe.json", 200),
    ],
)
def test_committed_events_answer_as_expected(aws, lambda_context, event_file, status):
    from cloudsaves.models.roms import RomUpsert
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.roms import upsert_rom
    from cloudsaves.services.users import create_user

    user = create_user(UserCreate(username="alice", password="correct-horse-battery", role="viewer"))
    upsert_rom(10, RomUpsert(**ROM))
    event = load_event(event_file)
    if "authorizer" in event["requestContext"]:
        event["requestContext"]["authorizer"]["lambda"]["user_id"] = user.id
    response = load_function(event_file.split("/")[0]).lambda_handler(event, lambda_context)
    assert response["statusCode"] == status, response.get("body")


def test_committed_authorizer_event_authenticates_basic(aws, lambda_context):
    from cloudsaves.models.users import UserCreate
    from cloudsaves.services.users import create_user

    create_user(UserCreate(username="alice", password="correct-horse-battery", role="viewer"))
    result = load_function("authorizer").lambda_handler(load_event("authorizer/basic.json"), lambda_context)
    assert result["isAuthorized"] is True and result["context"]["username"] == "alice"
