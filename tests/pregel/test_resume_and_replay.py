"""Resume, replay and configuration edge cases (each once broke; the reference agrees)."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

from typing_extensions import TypedDict

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.config import get_config, get_stream_writer
from relaygraph.graph import END, START, StateGraph
from relaygraph.types import Command, interrupt


class Out(TypedDict):
    out: Annotated[list[str], operator.add]


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def test_two_interrupts_in_one_node_take_their_own_answers(runner):
    def ask(state: Out) -> Out:
        a = interrupt("q1")
        b = interrupt("q2")
        return {"out": [f"{a}{b}"]}

    graph = StateGraph(Out).add_node("ask", ask).add_edge(START, "ask")
    app = graph.compile(checkpointer=InMemorySaver())
    assert runner.invoke(app, {"out": []}, cfg("t"))["__interrupt__"][0].value == "q1"
    assert runner.invoke(app, Command(resume="A"), cfg("t"))["__interrupt__"][0].value == "q2"
    assert runner.invoke(app, Command(resume="B"), cfg("t")) == {"out": ["AB"]}


def _three_askers():
    def mk(name: str):
        def node(state: Out) -> Out:
            return {"out": [f"{name}={interrupt(f'ask {name}')}"]}

        return node

    g = StateGraph(Out)
    for n in "abc":
        g.add_node(n, mk(n)).add_edge(START, n).add_edge(n, END)
    return g.compile(checkpointer=InMemorySaver())


def test_partial_resume_of_parallel_interrupts_keeps_answered_branches(runner):
    app = _three_askers()
    first = runner.invoke(app, {"out": []}, cfg("p"))
    answers = {i.id: i.value.upper() for i in first["__interrupt__"] if i.value != "ask c"}
    partial = runner.invoke(app, Command(resume=answers), cfg("p"))
    assert partial["out"] == ["a=ASK A", "b=ASK B"]
    assert [i.value for i in partial["__interrupt__"]] == ["ask c"]
    state = runner.get_state(app, cfg("p"))
    assert state.next == ("c",)
    last = {state.interrupts[0].id: "C!"}
    assert sorted(runner.invoke(app, Command(resume=last), cfg("p"))["out"]) == [
        "a=ASK A",
        "b=ASK B",
        "c=C!",
    ]


def test_replaying_an_old_checkpoint_runs_its_next_node_again(runner):
    calls: list[str] = []

    def mk(name: str):
        def node(state: Out) -> Out:
            calls.append(name)
            return {"out": [name]}

        return node

    g = StateGraph(Out)
    for n in "abc":
        g.add_node(n, mk(n))
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c")
    app = g.compile(checkpointer=InMemorySaver())
    runner.invoke(app, {"out": []}, cfg("r"))
    before_b = next(s for s in runner.get_state_history(app, cfg("r")) if s.next == ("b",))
    calls.clear()
    replay = runner.stream(app, None, before_b.config, stream_mode="updates")
    assert replay == [{"b": {"out": ["b"]}}, {"c": {"out": ["c"]}}]
    assert calls == ["b", "c"]


def test_with_config_binds_configurable_and_thread():
    def node(state: Out) -> Out:
        return {"out": [str(get_config()["configurable"]["who"])]}

    app = StateGraph(Out).add_node("n", node).add_edge(START, "n")
    bound = app.compile(checkpointer=InMemorySaver()).with_config(
        {"configurable": {"who": "bob", "thread_id": "w"}}
    )
    assert bound.invoke({"out": []}) == {"out": ["bob"]}
    assert bound.get_state(cfg("w")).values == {"out": ["bob"]}


def test_parallel_async_nodes_under_backpressure_all_finish():
    async def chatty(state: Out) -> Out:
        write = get_stream_writer()
        for i in range(3000):
            write(i)
            if i % 100 == 0:
                await asyncio.sleep(0)
        return {"out": ["done"]}

    g = StateGraph(Out)
    for n in ("a", "b", "c"):
        g.add_node(n, chatty).add_edge(START, n)
    app = g.compile()
    app.stream_buffer = 64

    async def main() -> int:
        n = 0
        async for _ in app.astream({"out": []}, stream_mode="custom"):
            n += 1
        return n

    assert asyncio.run(asyncio.wait_for(main(), 30)) == 9000


def test_a_bare_resume_value_is_ambiguous_with_several_interrupts(runner):
    import pytest

    app = _three_askers()
    runner.invoke(app, {"out": []}, cfg("amb"))
    with pytest.raises(RuntimeError, match="multiple pending interrupts"):
        runner.invoke(app, Command(resume="x"), cfg("amb"))


def test_a_bare_resume_value_answers_the_last_remaining_interrupt(runner):
    app = _three_askers()
    first = runner.invoke(app, {"out": []}, cfg("last"))
    answers = {i.id: "y" for i in first["__interrupt__"] if i.value != "ask c"}
    runner.invoke(app, Command(resume=answers), cfg("last"))
    done = runner.invoke(app, Command(resume="z"), cfg("last"))
    assert sorted(done["out"]) == ["a=y", "b=y", "c=z"]


def test_resume_command_applies_its_update_first(runner):
    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    def ask(state: Log) -> Log:
        return {"log": [interrupt("x")]}

    g = StateGraph(Log).add_node("ask", ask).add_node("b", lambda s: {"log": ["b"]})
    g.add_edge(START, "ask").add_edge("ask", "b")
    app = g.compile(checkpointer=InMemorySaver())
    runner.invoke(app, {"log": []}, cfg("u"))
    out = runner.invoke(app, Command(resume="R", update={"log": ["upd"]}), cfg("u"))
    assert out == {"log": ["upd", "R", "b"]}
