"""Loading and invoking handlers the way the Lambda Python runtime does (in-process, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_stack.lambda_runtime import FunctionSpec, InProcessInvoker, Invocation

HANDLERS = """
import decimal, sys

COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("exit"):
        sys.exit(3)
    return {"count": COUNT, "price": decimal.Decimal("1.5"), "qty": decimal.Decimal("2"),
            "name": context.function_name, "arn": context.invoked_function_arn}
"""


def _spec(code_dir: Path, handler: str = "pkg.handlers.handler") -> FunctionSpec:
    return FunctionSpec(
        "PriceFunction", str(code_dir), handler, 3, 128, "arn:aws:lambda:us-east-1:1:function:x"
    )


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    (tmp_path / "get_price" / "pkg").mkdir(parents=True)
    (tmp_path / "get_price" / "pkg" / "handlers.py").write_text(HANDLERS)
    return tmp_path / "get_price"


def test_local_stack_lambda_runtime_module_names_are_unique_per_file(tmp_path: Path) -> None:
    assert _spec(tmp_path / "get_rom", "app.lambda_handler").module_name == "cloudsaves_fn_get_rom"
    assert _spec(tmp_path / "get_rom", "pkg.mod.fn").module_name == "cloudsaves_fn_get_rom_pkg_mod"
    assert _spec(tmp_path / "get_rom", "pkg.mod.fn").file == tmp_path / "get_rom" / "pkg" / "mod.py"


def test_local_stack_lambda_runtime_in_process_loads_once_and_serializes_decimals(code_dir: Path) -> None:
    invoker = InProcessInvoker()
    spec = _spec(code_dir)

    first = invoker.invoke(Invocation(spec, "{}", "r1"), wait_seconds=3)
    second = invoker.invoke(Invocation(spec, "{}", "r2"), wait_seconds=3)

    assert first.payload is not None and second.payload is not None
    assert json.loads(first.payload) == {
        "count": 1,
        "price": 1.5,
        "qty": 2,
        "name": "PriceFunction",
        "arn": "arn:aws:lambda:us-east-1:1:function:x",
    }
    assert json.loads(second.payload)["count"] == 2  # the module stayed loaded, like a warm container


def test_local_stack_lambda_runtime_failures_become_errors(code_dir: Path) -> None:
    invoker = InProcessInvoker()

    exited = invoker.invoke(Invocation(_spec(code_dir), '{"exit": true}', "r1"), wait_seconds=3)
    missing = invoker.invoke(Invocation(_spec(code_dir, "nope.handler"), "{}", "r2"), wait_seconds=3)

    assert exited.payload is None and exited.error == "SystemExit: 3"
    assert missing.payload is None and missing.error is not None and "FileNotFoundError" in missing.error
