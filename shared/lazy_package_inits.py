"""Layer build step: make chosen packages' `__init__` import their names on first use (PEP 562).

    python3 lazy_package_inits.py LAYER_DIR aws_lambda_powertools.event_handler ...

Why: importing any submodule runs its package's `__init__`, and Powertools' `event_handler/__init__.py`
imports every resolver (AppSync pulls in asyncio and ssl; Bedrock, VPC Lattice, ...) while a function
uses one; `utilities/data_classes/__init__.py` imports every event source's class. On this machine that
is about 40 ms of each function's cold start (README "Cold start"). The rewritten `__init__` offers the
same names, each imported from the same module when first asked for, so code importing them sees the
same objects; only the resolvers and event classes nobody asks for are never loaded.

Only an `__init__` made of its docstring, `from ... import` statements and `__all__` is rewritten;
anything else fails the build, so a Powertools upgrade that changes one is noticed, not half-deferred.
A name that is also its own submodule's name (`data_classes.event_source`, a function in the module of
that name) stays an eager import: importing the submodule would otherwise leave the module in its place.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

_TEMPLATE = """{docstring}
import importlib as _importlib

{eager}
_SOURCES = {sources!r}
{all}


def __getattr__(name):
    try:
        module, attribute = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}") from None
    value = getattr(_importlib.import_module(module, __name__), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted({{*globals(), *_SOURCES}})
"""


def rewrite(source: str, path: Path) -> str:
    """The lazy `__init__` for `source` (the package's own), or ValueError if it does more than import."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    notice = "Rewritten by the layer build (shared/lazy_package_inits.py): names are imported on first use."
    eager, sources, exported = [], {}, None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module and node.level <= 1:
            for alias in node.names:
                name = alias.asname or alias.name
                if (node.level == 1 and name == node.module) or alias.name == "*":
                    eager.append(ast.unparse(ast.ImportFrom(node.module, [alias], node.level)))
                else:
                    sources[name] = ("." * node.level + node.module, alias.name)
            continue
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            exported = ast.unparse(node)
            continue
        raise ValueError(f"{path}:{node.lineno} is not an import: {ast.unparse(node)}")
    return _TEMPLATE.format(
        docstring=repr(f"{docstring or ''}\n\n{notice}\n"),
        eager="\n".join(eager),
        sources=sources,
        all=exported or "",
    )


def main(argv: list[str]) -> int:
    layer, packages = Path(argv[0]), argv[1:]
    for package in packages:
        init = layer.joinpath(*package.split("."), "__init__.py")
        init.write_text(rewrite(init.read_text(), init))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
