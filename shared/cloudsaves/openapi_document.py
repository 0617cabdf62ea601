"""The contract this deployment serves at /openapi.json: `openapi.json` beside this module, written by
`make openapi` (with docs/openapi.json) and shipped in the layer."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def openapi_json() -> str:
    """The document's text, read once per container."""
    return resources.files("cloudsaves").joinpath("openapi.json").read_text(encoding="utf-8")
