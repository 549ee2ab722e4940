"""Runtime behaviour beyond the recorded scenarios: schemas, edges, concurrency, retries,
backpressure, persistence APIs, and the typed errors relaygraph raises on bad input."""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import threading
import time
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.config import get_config, get_stream_writer
from relaygraph.errors import (
    GraphRecursionError,
    GraphSetupError,
    InvalidStreamArgumentError,
    InvalidUpdateError,
    UnknownNodeError,
)
from relaygraph.graph import END, START, StateGraph
from relaygraph.types import Command, RetryPolicy, Send, interrupt


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    n: int


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


# -- schemas ------------------------------------------------------------------------------
@dataclasses.dataclass
class DState:
    topic: str
    count: int = 0


class PState(BaseModel):
    topic: str
    count: int = 0


@pytest.mark.parametrize("schema", [DState, PState])
def test_dataclass_and_pydantic_states_reach_nodes_as_objects(runner, schema):
    seen: list[Any] = []

    def bump(state: Any) -> dict[str, Any]:
        seen.append(state)
        return {"count": state.count + 1, "topic": state.topic.upper()}

    g = StateGraph(schema).add_node("bump", bump).add_edge(START, "bump").compile()
    assert runner.stream(g, {"topic": "x"}, stream_mode="values") == [
        {"topic": "x"},
        {"topic": "X", "count": 1},
    ]
    assert isinstance(seen[0], schema) and seen[0].count == 0


def test_pydantic_invoke_v2_returns_the_model(runner):
    g = (
        StateGraph(PState)
        .add_node("bump", lambda s: {"count": 5})
        .add_edge(START, "bump")
        .compile()
    )
    out = runner.invoke(g, {"topic": "t"}, version="v2")
    assert out.value == PState(topic="t", count=5)
    assert out.interrupts == ()


# -- edges ----------------------------------------------------------------------------------
def test_add_sequence_chains_nodes_in_order(runner):
    def a(s: Log) -> Log:
        return {"log": ["a"]}

    def b(s: Log) -> Log:
        return {"log": ["b"]}

    g = StateGraph(Log).add_sequence([a, ("second", b)]).add_edge(START, "a").compile()
    assert runner.invoke(g, {"log": []}) == {"log": ["a", "b"]}


def test_conditional_edges_with_path_map_and_end(runner):
    def route(s: Log) -> str:
        return "more" if len(s["log"]) < 3 else "done"

    g = StateGraph(Log)
    g.add_node("step", lambda s: {"log": ["x"]})
    g.add_edge(START, "step")
    g.add_conditional_edges("step", route, {"more": "step", "done": END})
    assert runner.invoke(g.compile(), {"log": []}) == {"log": ["x", "x", "x"]}


def test_join_waits_for_every_source(runner):
    g = StateGraph(Log)
    g.add_node("a", lambda s: {"log": ["a"]})
    g.add_node("b", lambda s: {"log": ["b"]})
    g.add_node("b2", lambda s: {"log": ["b2"]})
    g.add_node("c", lambda s: {"log": ["c"]})
    g.add_edge(START, "a").add_edge(START, "b").add_edge("b", "b2")
    g.add_edge(["a", "b2"], "c")
    updates = runner.stream(g.compile(), {"log": []}, stream_mode="updates")
    assert [next(iter(u)) for u in updates][-1] == "c"
    assert sum(1 for u in updates if "c" in u) == 1


def test_send_fans_out_with_per_task_inputs(runner):
    class S(TypedDict):
        items: list[int]
        out: Annotated[list[int], operator.add]

    g = StateGraph(S)
    g.add_node("square", lambda arg: {"out": [arg["v"] ** 2]})
    g.add_conditional_edges(START, lambda s: [Send("square", {"v": v}) for v in s["items"]])
    assert runner.invoke(g.compile(), {"items": [1, 2, 3]})["out"] == [1, 4, 9]


def test_command_goto_and_update(runner):
    def hop(s: Log) -> Command:
        return Command(update={"log": ["hop"]}, goto="land")

    g = StateGraph(Log).add_node("hop", hop).add_node("land", lambda s: {"log": ["land"]})
    g.add_edge(START, "hop")
    assert runner.invoke(g.compile(), {"log": []}) == {"log": ["hop", "land"]}


# -- execution ------------------------------------------------------------------------------
def test_parallel_sync_nodes_really_run_concurrently(runner):
    barrier = threading.Barrier(2, timeout=5)

    def meet(name: str):
        def node(s: Log) -> Log:
            barrier.wait()  # deadlocks (BrokenBarrierError) unless both run at once
            return {"log": [name]}

        return node

    g = StateGraph(Log).add_node("a", meet("a")).add_node("b", meet("b"))
    g.add_edge(START, "a").add_edge(START, "b")
    assert runner.invoke(g.compile(), {"log": []}) == {"log": ["a", "b"]}


def test_parallel_async_nodes_run_concurrently_in_astream():
    gate = asyncio.Event()

    async def waiter(s: Log) -> Log:
        await asyncio.wait_for(gate.wait(), 5)
        return {"log": ["waiter"]}

    async def opener(s: Log) -> Log:
        gate.set()
        return {"log": ["opener"]}

    g = StateGraph(Log).add_node("waiter", waiter).add_node("opener", opener)
    g.add_edge(START, "waiter").add_edge(START, "opener")
    out = asyncio.run(g.compile().ainvoke({"log": []}))
    assert out == {"log": ["opener", "waiter"]}


def test_async_node_runs_under_sync_invoke_and_sync_node_under_ainvoke(runner):
    async def a(s: Log) -> Log:
        await asyncio.sleep(0)
        return {"log": ["async"]}

    def b(s: Log) -> Log:
        return {"log": ["sync"]}

    g = StateGraph(Log).add_node("a", a).add_node("b", b).add_edge(START, "a").add_edge("a", "b")
    assert runner.invoke(g.compile(), {"log": []}) == {"log": ["async", "sync"]}


def test_retry_policy_retries_then_succeeds(runner):
    calls = {"n": 0}

    def flaky(s: Log) -> Log:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("flaky")
        return {"log": ["ok"]}

    policy = RetryPolicy(initial_interval=0.001, jitter=False, max_attempts=3)
    g = StateGraph(Log).add_node("flaky", flaky, retry_policy=policy).add_edge(START, "flaky")
    assert runner.invoke(g.compile(), {"log": []}) == {"log": ["ok"]}
    assert calls["n"] == 3


def test_retry_policy_gives_up_after_max_attempts(runner):
    calls = {"n": 0}

    def broken(s: Log) -> Log:
        calls["n"] += 1
        raise ConnectionError("down")

    policy = RetryPolicy(initial_interval=0.001, jitter=False, max_attempts=2)
    g = StateGraph(Log).add_node("broken", broken, retry_policy=policy).add_edge(START, "broken")
    with pytest.raises(ConnectionError):
        runner.invoke(g.compile(), {"log": []})
    assert calls["n"] == 2


def test_recursion_limit_counts_steps(runner):
    g = StateGraph(Log).add_node("loop", lambda s: {"log": ["x"]}).add_edge(START, "loop")
    g.add_edge("loop", "loop")
    with pytest.raises(GraphRecursionError):
        runner.invoke(g.compile(), {"log": []}, {"recursion_limit": 4})


def test_get_config_inside_node_sees_engine_metadata(runner):
    seen: dict[str, Any] = {}

    def node(s: Log) -> Log:
        seen.update(get_config()["metadata"])
        return {}

    g = StateGraph(Log).add_node("node", node).add_edge(START, "node").compile()
    runner.invoke(g, {"log": []}, {"metadata": {"user": "u"}})
    assert seen["user"] == "u"
    assert seen["langgraph_node"] == "node" and seen["langgraph_step"] == 1


# -- streaming: backpressure and early exit ------------------------------------------------
def _chatty(produced: list[int], n: int):
    def node(s: Log) -> Log:
        write = get_stream_writer()
        for i in range(n):
            produced[0] = i + 1
            write(i)
        return {"log": ["done"]}

    return node


def test_sync_stream_applies_backpressure_to_a_fast_node():
    produced = [0]
    g = StateGraph(Log).add_node("chatty", _chatty(produced, 100_000)).add_edge(START, "chatty")
    graph = g.compile()
    graph.stream_buffer = 64
    it = graph.stream({"log": []}, stream_mode="custom")
    assert next(it) == 0
    time.sleep(0.2)  # give the producer every chance to run ahead
    assert produced[0] <= 64 + 2
    rest = list(it)
    assert len(rest) == 99_999 and rest[-1] == 99_999


def test_async_stream_applies_backpressure_to_an_async_node():
    produced = [0]

    async def chatty(s: Log) -> Log:
        write = get_stream_writer()
        for i in range(10_000):
            produced[0] = i + 1
            write(i)
            await asyncio.sleep(0)
        return {"log": ["done"]}

    graph = StateGraph(Log).add_node("chatty", chatty).add_edge(START, "chatty").compile()
    graph.stream_buffer = 32

    async def main() -> tuple[int, int]:
        it = graph.astream({"log": []}, stream_mode="custom").__aiter__()
        await it.__anext__()
        for _ in range(200):
            await asyncio.sleep(0)
        ahead = produced[0]
        n = 1
        async for _ in it:
            n += 1
        return ahead, n

    ahead, n = asyncio.run(main())
    assert ahead <= 32 + 2
    assert n == 10_000


def test_breaking_out_of_a_stream_stops_the_run():
    ran: list[str] = []

    def first(s: Log) -> Log:
        ran.append("first")
        return {"log": ["first"]}

    def second(s: Log) -> Log:
        ran.append("second")
        return {"log": ["second"]}

    g = StateGraph(Log).add_node("first", first).add_node("second", second)
    g.add_edge(START, "first").add_edge("first", "second")
    graph = g.compile()
    graph.stream_buffer = 2
    for chunk in graph.stream({"log": []}, stream_mode="updates"):
        assert chunk == {"first": {"log": ["first"]}}
        break
    assert ran[0] == "first"


# -- persistence ---------------------------------------------------------------------------
def _ask_graph(saver: Any):
    def ask(s: Log) -> Log:
        answer = interrupt("name?")
        return {"log": [f"hi {answer}"]}

    g = StateGraph(Log).add_node("ask", ask).add_edge(START, "ask")
    return g.compile(checkpointer=saver)


def test_interrupt_and_resume_round_trip(runner):
    graph = _ask_graph(InMemorySaver())
    first = runner.invoke(graph, {"log": []}, cfg("t"))
    assert first["__interrupt__"][0].value == "name?"
    state = runner.get_state(graph, cfg("t"))
    assert state.next == ("ask",) and state.interrupts[0].value == "name?"
    assert runner.invoke(graph, Command(resume="bob"), cfg("t")) == {"log": ["hi bob"]}
    assert runner.get_state(graph, cfg("t")).next == ()


def test_history_is_newest_first_and_update_state_forks(runner):
    g = StateGraph(Log).add_node("a", lambda s: {"log": ["a"]}).add_edge(START, "a")
    graph = g.compile(checkpointer=InMemorySaver())
    runner.invoke(graph, {"log": []}, cfg("h"))
    history = runner.get_state_history(graph, cfg("h"))
    assert [s.metadata["step"] for s in history] == [1, 0, -1]
    runner.update_state(graph, cfg("h"), {"log": ["patched"]}, as_node="a")
    latest = runner.get_state(graph, cfg("h"))
    assert latest.values == {"log": ["a", "patched"]}
    assert latest.metadata["source"] == "update"


# -- typed errors on bad input -------------------------------------------------------------
def test_unknown_stream_mode_is_a_typed_error():
    g = StateGraph(Log).add_node("a", lambda s: {}).add_edge(START, "a").compile()
    with pytest.raises(InvalidStreamArgumentError, match="bogus"):
        list(g.stream({"log": []}, stream_mode="bogus"))


def test_edge_to_missing_node_fails_at_compile():
    g = StateGraph(Log).add_node("a", lambda s: {}).add_edge(START, "a").add_edge("a", "ghost")
    with pytest.raises(UnknownNodeError, match="ghost"):
        g.compile()


def test_node_named_like_a_state_key_is_rejected():
    with pytest.raises(GraphSetupError, match="log"):
        StateGraph(Log).add_node("log", lambda s: {})


def test_non_mapping_input_is_rejected(runner):
    g = StateGraph(Log).add_node("a", lambda s: {}).add_edge(START, "a").compile()
    with pytest.raises(InvalidUpdateError, match="list"):
        runner.invoke(g, ["not", "a", "dict"])


def test_two_writes_to_a_plain_key_in_one_step_fail(runner):
    class S(TypedDict):
        x: int

    g = StateGraph(S).add_node("a", lambda s: {"x": 1}).add_node("b", lambda s: {"x": 2})
    g.add_edge(START, "a").add_edge(START, "b")
    with pytest.raises(InvalidUpdateError, match="Can receive only one value per step"):
        runner.invoke(g.compile(), {"x": 0})
