"""A Docker-free local Cloud Saves: API Gateway + Lambda emulated from template.yaml, AWS in moto.

Kept import-light: every Lambda worker process imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

__all__ = ["LocalStack"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from local_stack.stack import LocalStack

        return LocalStack
    raise AttributeError(name)
