"""Property-based fuzzing of every operation in docs/openapi.json against the local stack (schemathesis,
seeded): no answer is a 5xx, and every answer keeps the contract (a declared status, its content type,
a body matching its schema). Valid and invalid input both, as an admin with a Bearer token, so requests
get past authentication and reach the functions' parsing and services."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import ROOT, local_stack_process, new_user

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("fuzz")]  # one worker, so one stack

SCHEMA = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
# Per operation, of the 72 (valid and invalid cases; about 3,500 requests in all, ~50 s here).
EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# What the battery did, printed at the end (README "Security" quotes it): requests sent, answers by class.
TALLY: collections.Counter[str] = collections.Counter()


@dataclass(frozen=True)
class FuzzTarget:
    base_url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    # Its own stack: the fuzzer deletes, renames and revokes whatever its ids hit.
    with local_stack_process(tmp_path_factory.mktemp("fuzz-data")) as (stack, _), requests.Session() as http:
        username, password = new_user(stack, http, "fuzzer", role="admin")
        token = http.post(
            f"{stack.base_url}/api/token",
            data={"grant_type": "password", "username": username, "password": password},
        )
        assert token.status_code == 200, token.text
        yield FuzzTarget(stack.base_url, {"Authorization": f"Bearer {token.json()['access_token']}"})
    print(f"\nfuzzed: {TALLY['requests']} requests; answers: {dict(sorted(TALLY.items()))}")
    assert TALLY["5xx"] == 0


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same cases every run
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    response = case.call(base_url=fuzz_target.base_url, headers=fuzz_target.headers, timeout=30)
    TALLY["requests"] += 1
    TALLY[f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=CHECKS)
