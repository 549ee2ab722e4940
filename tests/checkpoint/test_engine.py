"""Graphs on durable savers: resume across saver objects and processes, history, updates.

Part of the conformance suite (same ``env`` fixture), plus crash tests that SIGKILL a child
process in the middle of a run and resume the thread from the database in a new process.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from relaygraph.graph import END, START, StateGraph
from relaygraph.types import Command, interrupt
from tests._pg import fresh_schema
from tests.checkpoint.conftest import Env

CHILD = Path(__file__).with_name("crash_child.py")


class State(TypedDict):
    items: Annotated[list[str], operator.add]


def chain(calls: list[str], *, ask: bool = False) -> StateGraph:
    """START -> a -> b (asks for a name when ``ask``) -> c -> END; ``calls`` logs each run."""

    def make(name: str) -> Any:
        def run(state: State) -> dict[str, Any]:
            calls.append(name)
            if ask and name == "b":
                return {"items": [f"b:{interrupt('name?')}"]}
            return {"items": [name]}

        return run

    builder = StateGraph(State)
    for name in "abc":
        builder.add_node(name, make(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder


async def test_interrupt_resumes_on_a_new_saver_object(env: Env, thread_id: str) -> None:
    calls: list[str] = []
    config = {"configurable": {"thread_id": thread_id}}
    graph = chain(calls, ask=True).compile(checkpointer=env.saver)
    out = await env.graph(graph, "invoke", {"items": ["in"]}, config)
    assert out["items"] == ["in", "a"]
    assert out["__interrupt__"][0].value == "name?"
    resumed = chain(calls, ask=True).compile(checkpointer=await env.new_saver())
    state = await env.graph(resumed, "get_state", config)
    assert state.next == ("b",)
    assert state.interrupts[0].value == "name?"
    out = await env.graph(resumed, "invoke", Command(resume="Ada"), config)
    assert out == {"items": ["in", "a", "b:Ada", "c"]}
    assert calls == ["a", "b", "b", "c"]


def summary(snapshots: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (s.values, s.next, s.metadata, [t.name for t in s.tasks], s.parent_config is None)
        for s in snapshots
    ]


async def history_scenario(env: Env, graph: Any, thread_id: str) -> list[Any]:
    config = {"configurable": {"thread_id": thread_id}}
    await env.graph(graph, "invoke", {"items": ["x"]}, config)
    await env.graph(graph, "update_state", config, {"items": ["manual"]}, as_node="b")
    history = await env.graph(graph, "get_state_history", config)
    before_b = next(s for s in history if s.next == ("b",))
    await env.graph(graph, "invoke", None, before_b.config)  # replay from there: a fork
    await env.graph(graph, "update_state", before_b.config, {"items": ["edited"]})
    return await env.graph(graph, "get_state_history", config)


async def test_history_and_update_state_match_the_memory_saver(env: Env, thread_id: str) -> None:
    reference_env = Env("memory", env.face, env.stack, "")
    await reference_env.new_saver()
    want = await history_scenario(
        reference_env, chain([]).compile(checkpointer=reference_env.saver), thread_id
    )
    got = await history_scenario(env, chain([]).compile(checkpointer=env.saver), thread_id)
    assert summary(got) == summary(want)
    latest = await env.graph(
        chain([]).compile(checkpointer=env.saver),
        "get_state",
        {"configurable": {"thread_id": thread_id}},
    )
    assert latest.values == want[0].values


async def test_history_limit_and_before(env: Env, thread_id: str) -> None:
    graph = chain([]).compile(checkpointer=env.saver)
    config = {"configurable": {"thread_id": thread_id}}
    await env.graph(graph, "invoke", {"items": []}, config)
    history = await env.graph(graph, "get_state_history", config)
    assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]
    assert [s.values["items"] for s in history][:2] == [["a", "b", "c"], ["a", "b"]]
    two = await env.graph(graph, "get_state_history", config, limit=2, before=history[1].config)
    assert [s.metadata["step"] for s in two] == [1, 0]
    loops = await env.graph(graph, "get_state_history", config, filter={"source": "input"})
    assert [s.metadata["step"] for s in loops] == [-1]


async def test_history_filter_on_config_metadata(env: Env, thread_id: str) -> None:
    """The run config's scalar entries are stored in checkpoint metadata and filterable."""
    graph = chain([]).compile(checkpointer=env.saver)
    for user in ("ann", "bob"):
        config = {
            "configurable": {"thread_id": thread_id, "user_id": user, "__hidden": 1},
            "metadata": {"run": f"r-{user}", "weight": 0.5, "skip": [1]},
        }
        await env.graph(graph, "invoke", {"items": []}, config)
    config = {"configurable": {"thread_id": thread_id}}
    history = await env.graph(graph, "get_state_history", config)
    assert history[0].metadata == {
        "source": "loop",
        "step": 8,
        "parents": {},
        "run": "r-bob",
        "weight": 0.5,
        "user_id": "bob",
    }
    ann = await env.graph(graph, "get_state_history", config, filter={"user_id": "ann"})
    assert [s.metadata["step"] for s in ann] == [3, 2, 1, 0, -1]
    bob = await env.graph(
        graph, "get_state_history", config, filter={"run": "r-bob", "source": "loop"}, limit=2
    )
    assert [s.metadata["step"] for s in bob] == [8, 7]
    nobody = await env.graph(graph, "get_state_history", config, filter={"weight": 1.0, "x": 1})
    assert nobody == []


# == crash tests =========================================================================


@contextlib.contextmanager
def _where(backend: str, tmp_path: Path) -> Iterator[str]:
    """The database the crash test's processes share."""
    if backend == "sqlite":
        yield str(tmp_path / "crash.db")
    else:
        with fresh_schema() as conninfo:
            yield conninfo


def _child(mode: str, backend: str, where: str, workdir: Path, *extra: str) -> list[str]:
    return [sys.executable, str(CHILD), mode, backend, where, "crash-thread", str(workdir), *extra]


@pytest.mark.parametrize(
    ("shape", "face"),
    [
        ("chain", "sync"),
        ("chain", "async"),
        ("parallel", "sync"),
        ("parallel", "async"),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_mid_run_then_resume_in_a_new_process(
    backend: str, shape: str, face: str, tmp_path: Path
) -> None:
    parallel = shape == "parallel"
    extra = tuple(x for x, on in (("parallel", parallel), ("async", face == "async")) if on)
    with _where(backend, tmp_path) as where:
        proc = subprocess.Popen(_child("run", backend, where, tmp_path, *extra))
        deadline = time.monotonic() + 60
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, "the child exited before node n3 started"
            assert time.monotonic() < deadline, "node n3 never started"
            time.sleep(0.02)
        time.sleep(0.2)  # let any parallel task finish and record its writes
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        done = subprocess.run(
            _child("resume", backend, where, tmp_path, *extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout.strip().splitlines()[-1])["items"]
    log = (tmp_path / "log").read_text().split("\n")
    if parallel:
        assert sorted(items[2:4]) == ["n3", "n3b"]
        assert items[:2] + items[4:] == ["n1", "n2", "n4", "n5"]
        assert log.count("end n3b") == 1, "a task that finished before the crash ran again"
    else:
        assert items == ["n1", "n2", "n3", "n4", "n5"]
    for name in ("n1", "n2", "n4", "n5"):
        assert log.count(f"start {name}") == 1, f"{name} ran {log.count(f'start {name}')} times"
    assert log.count("start n3") == 2
    assert log.count("end n3") == 1
