"""Graphs from ``langgraph.json``: ``{"graphs": {"agent": "./agent.py:graph"}, "env": ...,
"dependencies": ["."]}``.

Each entry names a file (or an importable module) and an attribute: a compiled graph, a
``StateGraph`` builder (compiled here), or a function returning either. Anything that fails
to load raises ``GraphLoadError`` naming the graph, so a bad config is a clear startup error.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relaygraph.server import _json

__all__ = ["GraphLoadError", "GraphRegistry", "ProjectConfig", "read_project"]


class GraphLoadError(RuntimeError):
    """A graph in ``langgraph.json`` could not be loaded."""


@dataclasses.dataclass(frozen=True)
class ProjectConfig:
    """The parts of ``langgraph.json`` the server uses."""

    path: Path
    graphs: dict[str, str]
    env: dict[str, str]
    dependencies: tuple[Path, ...]


def _read_env(base: Path, env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, Mapping):
        return {str(k): str(v) for k, v in env.items()}
    if isinstance(env, str):
        path = base / env
        if not path.is_file():
            raise GraphLoadError(f"env file {env!r} not found next to the config")
        out: dict[str, str] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.removeprefix("export ").partition("=")
            out[key.strip()] = value.strip().strip("'\"")
        return out
    raise GraphLoadError("'env' must be a path to a .env file or an object")


def read_project(path: Path) -> ProjectConfig:
    """Parse ``langgraph.json`` at ``path``; raises ``GraphLoadError`` on a bad file."""
    if not path.is_file():
        raise GraphLoadError(f"config file {str(path)!r} not found")
    try:
        doc = _json.loads(path.read_bytes())
    except ValueError as exc:
        raise GraphLoadError(f"config file {str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("graphs"), dict) or not doc["graphs"]:
        raise GraphLoadError(f"config file {str(path)!r} needs a non-empty 'graphs' object")
    base = path.resolve().parent
    graphs = {}
    for name, spec in doc["graphs"].items():
        if isinstance(spec, dict):
            spec = spec.get("path")
        if not isinstance(spec, str) or ":" not in spec:
            raise GraphLoadError(
                f"graph {name!r}: expected 'path/to/file.py:attribute', got {spec!r}"
            )
        graphs[str(name)] = spec
    deps = doc.get("dependencies") or []
    dependencies = tuple(
        (base / d).resolve() for d in deps if isinstance(d, str) and d.startswith((".", "/"))
    )
    return ProjectConfig(path, graphs, _read_env(base, doc.get("env")), dependencies)


def _load_attribute(base: Path, spec: str) -> Any:
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py") or "/" in target:
        file = (base / target).resolve()
        if not file.is_file():
            raise FileNotFoundError(f"no such file: {file}")
        name = f"relaygraph_user_{file.stem}_{abs(hash(str(file)))}"
        module = sys.modules.get(name)
        if module is None:
            loader = importlib.util.spec_from_file_location(name, file)
            if loader is None or loader.loader is None:
                raise ImportError(f"cannot import {file}")
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            try:
                loader.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
    else:
        module = importlib.import_module(target)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _as_graph(obj: Any) -> Any:
    if getattr(obj, "_is_relaygraph_graph", False):
        return obj
    if hasattr(obj, "compile") and hasattr(obj, "add_node"):
        return obj.compile()
    if callable(obj):
        made = obj()
        if getattr(made, "_is_relaygraph_graph", False):
            return made
        if hasattr(made, "compile") and hasattr(made, "add_node"):
            return made.compile()
    raise TypeError(f"expected a compiled relaygraph graph or StateGraph, got {type(obj).__name__}")


class GraphRegistry:
    """The loaded graphs by id, each bound to the server's checkpointer."""

    def __init__(self, graphs: Mapping[str, Any]) -> None:
        self._graphs = dict(graphs)

    @classmethod
    def load(cls, project: ProjectConfig, checkpointer: Any = None) -> GraphRegistry:
        """Import every graph of ``project`` (after applying its env and dependencies)."""
        base = project.path.resolve().parent
        for key, value in project.env.items():
            os.environ.setdefault(key, value)
        for dep in (*project.dependencies, base):
            if str(dep) not in sys.path:
                sys.path.insert(0, str(dep))
        graphs: dict[str, Any] = {}
        for graph_id, spec in project.graphs.items():
            try:
                graph = _as_graph(_load_attribute(base, spec))
            except Exception as exc:
                raise GraphLoadError(
                    f"Failed to load graph {graph_id!r} from {spec!r}: {type(exc).__name__}: {exc}"
                ) from exc
            graphs[graph_id] = cls.bind(graph, checkpointer)
        return cls(graphs)

    @staticmethod
    def bind(graph: Any, checkpointer: Any) -> Any:
        """A shallow copy of ``graph`` that checkpoints to ``checkpointer``."""
        bound = copy.copy(graph)
        bound.checkpointer = checkpointer
        return bound

    def bound(self, checkpointer: Any) -> GraphRegistry:
        """The same graphs, each checkpointing to ``checkpointer``."""
        return GraphRegistry({k: self.bind(g, checkpointer) for k, g in self._graphs.items()})

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._graphs

    def get(self, graph_id: str) -> Any:
        return self._graphs[graph_id]

    @property
    def ids(self) -> list[str]:
        return list(self._graphs)
