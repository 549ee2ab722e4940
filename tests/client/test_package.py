"""The package's surface: exports, the method table shared by both faces, SDK name parity."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import relaygraph.client as client_pkg
from relaygraph.client import get_client, get_sync_client

RESOURCES = ("assistants", "threads", "runs", "crons", "store")
NOT_YET = {("threads", "stream")}  # the v2 "thread protocol" (PROTOCOL.md, appendix A)


def test_all_is_honest() -> None:
    assert len(set(client_pkg.__all__)) == len(client_pkg.__all__)
    assert [n for n in client_pkg.__all__ if not hasattr(client_pkg, n)] == []
    public = {n for n in vars(client_pkg) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(client_pkg, n))}
    assert public - modules - {"annotations"} == set(client_pkg.__all__)


def test_faces_share_one_method_table() -> None:
    sync, aio = get_sync_client(api_key=None), get_client(api_key=None)
    for name in RESOURCES:
        s, a = getattr(sync, name), getattr(aio, name)
        assert type(s) is type(a)  # one class per resource, generic in the face
        for method in [m for m in dir(type(s)) if not m.startswith("_")]:
            sm, am = getattr(s, method), getattr(a, method)
            assert inspect.signature(sm) == inspect.signature(am), f"{name}.{method}"
            assert sm.__doc__ and sm.__doc__ == am.__doc__, f"{name}.{method} needs a docstring"
            is_stream = method in ("stream", "join_stream")
            assert inspect.iscoroutinefunction(am) is not is_stream, f"{name}.{method}"
            assert not inspect.iscoroutinefunction(sm)
    sync.close()


def official_methods(resource: Any) -> dict[str, inspect.Signature]:
    return {
        n: inspect.signature(m)
        for n, m in inspect.getmembers(type(resource), inspect.isfunction)
        if not n.startswith("_")
    }


@pytest.mark.parametrize("face", ["sync", "async"])
@pytest.mark.parametrize("name", RESOURCES)
def test_same_methods_and_parameters_as_the_official_sdk(name: str, face: str) -> None:
    sdk = pytest.importorskip("langgraph_sdk")
    official = (sdk.get_sync_client if face == "sync" else sdk.get_client)(url="http://x")
    ours = (get_sync_client if face == "sync" else get_client)(url="http://x", api_key=None)
    theirs = official_methods(getattr(official, name))
    for method, signature in theirs.items():
        if (name, method) in NOT_YET:
            continue
        assert hasattr(getattr(ours, name), method), f"{name}.{method} is missing"
        mine = inspect.signature(getattr(getattr(ours, name), method))
        expected = {p.name: (p.kind, p.default) for p in signature.parameters.values()}
        expected.pop("self")
        got = {p.name: (p.kind, p.default) for p in mine.parameters.values()}
        for param, (kind, default) in expected.items():
            if kind is inspect.Parameter.VAR_KEYWORD:
                continue
            assert param in got or "options" in got or "fields" in got, f"{name}.{method}({param})"
            if param not in got:
                continue
            # the official faces disagree on whether headers/params are keyword-only
            if (
                param not in ("headers", "params")
                or got[param][0] != inspect.Parameter.KEYWORD_ONLY
            ):
                assert got[param][0] == kind, f"{name}.{method}({param}) kind"
            if isinstance(default, (int, str, bool, type(None))):
                assert got[param][1] == default, f"{name}.{method}({param}) default"


def test_client_module_loads_no_engine() -> None:
    import subprocess
    import sys

    code = (
        "import sys, relaygraph.client, relaygraph.client.cli\n"
        "engine = ('graph','pregel','channels','stream','checkpoint','types','config','errors')\n"
        "print([m for m in sys.modules if m.split('.')[:2][-1] in engine and m.startswith('relaygraph.')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
