"""The package's shape: who may import whom, what stays lazy, and that ``__all__`` is honest.

The import-direction rules read the source with ``ast`` (so they cover imports under
``TYPE_CHECKING`` and inside functions too); the lazy-import check runs a fresh interpreter.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("RELAYGRAPH_REFERENCE") == "1",
    reason="checks relaygraph's own source, not the reference",
)

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "relaygraph"

ENGINE = (
    "relaygraph.graph",
    "relaygraph.pregel",
    "relaygraph.channels",
    "relaygraph.stream",
    "relaygraph.checkpoint",
    "relaygraph.types",
    "relaygraph.config",
    "relaygraph.errors",
    "relaygraph.runtime",
    "relaygraph.constants",
)
SERVER_AND_CLIENT = ("relaygraph.server", "relaygraph.client")
CLIENT = ("relaygraph.client",)

CLIENT_MAY_USE = ("relaygraph.errors",)
"""Engine modules the client may import: exception classes only (``RemoteGraph`` raises
``GraphInterrupt`` as a node of a local graph), and lazily, so importing the client still
loads no engine module (``test_client_does_not_load_the_engine``)."""

RULES = {
    "engine-not-server-or-client": (ENGINE, SERVER_AND_CLIENT),
    "client-not-engine": (CLIENT, tuple(m for m in ENGINE if m not in CLIENT_MAY_USE)),
}
"""rule name -> (modules it applies to, modules they must not import)."""

PUBLIC_MODULES = (
    "relaygraph.graph",
    "relaygraph.graph.message",
    "relaygraph.types",
    "relaygraph.config",
    "relaygraph.runtime",
    "relaygraph.errors",
    "relaygraph.checkpoint.memory",
)


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every import in ``source``, relative imports resolved.

    ``from a import b`` yields both ``a`` and ``a.b`` since ``b`` may be a submodule.
    Literal ``importlib.import_module("...")`` / ``__import__("...")`` calls count too.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def test_imports_in_sees_every_kind_of_import() -> None:
    source = (
        "from ..server import app\n"
        "from . import _loop\n"
        "import relaygraph.client.sync as c\n"
        "if TYPE_CHECKING:\n"
        "    from relaygraph.stream._x import y\n"
        "def f():\n"
        "    importlib.import_module('relaygraph.server.routes')\n"
    )
    found = {m for _, m in imports_in(source, "relaygraph.pregel._probe")}
    assert {
        "relaygraph.server",
        "relaygraph.server.app",
        "relaygraph.pregel._loop",
        "relaygraph.client.sync",
        "relaygraph.stream._x",
        "relaygraph.server.routes",
    } <= found
    in_init = {m for _, m in imports_in("from .. import types", "relaygraph.pregel", True)}
    assert "relaygraph.types" in in_init


@pytest.mark.parametrize("rule", sorted(RULES))
def test_import_direction(rule: str) -> None:
    sources, forbidden = RULES[rule]
    files = sorted(PACKAGE.rglob("*.py"))
    assert files, f"no modules under {PACKAGE}"
    offences: dict[tuple[Path, int], str] = {}  # one per import statement
    for path in files:
        module = module_name(path)
        if not within(module, sources):
            continue
        source = path.read_text(encoding="utf-8")
        for line, target in imports_in(source, module, path.name == "__init__.py"):
            if within(target, forbidden):
                offences.setdefault((path, line), f"{module} imports {target}")
    assert not offences, "\n".join(
        f"{path.relative_to(SRC.parent)}:{line}: {what}" for (path, line), what in offences.items()
    )


def loaded_after_import(module: str, prefix: str) -> list[str]:
    """Modules named ``prefix`` or ``prefix.*`` loaded by ``import module`` in a fresh interpreter."""
    code = (
        f"import sys, {module}\n"
        f"print('\\n'.join(m for m in sys.modules if m == {prefix!r} or m.startswith({prefix + '.'!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_graph_does_not_import_langchain_core() -> None:
    # langchain-core is an optional extra: only the messages stream mode may load it.
    assert loaded_after_import("relaygraph.graph", "langchain_core") == []


def test_client_does_not_load_the_engine() -> None:
    # The ast rule covers the client's own imports; this also covers relaygraph/__init__.py.
    if not (PACKAGE / "client").is_dir():
        pytest.skip("no relaygraph.client yet")
    loaded = loaded_after_import("relaygraph.client", "relaygraph")
    assert [m for m in loaded if within(m, ENGINE)] == []


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"
