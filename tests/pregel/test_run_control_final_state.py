"""``RunControl.final_state``: the state a completed run leaves, equal to ``get_state().values``.

The API server records a finished run's thread values from it instead of reading the
checkpoint back, so it must match what the checkpointer would show, and must stay ``None``
whenever the run stopped with something left to do.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.errors import GraphDrained
from relaygraph.graph import END, START, MessagesState, StateGraph
from relaygraph.runtime import RunControl
from relaygraph.types import Command, Send, interrupt


class State(TypedDict, total=False):
    topic: str
    joke: str
    items: Annotated[list[str], operator.add]


def _chain() -> StateGraph:
    return (
        StateGraph(State)
        .add_node("refine", lambda s: {"topic": s["topic"] + "!", "items": ["refine"]})
        .add_node("punch", lambda s: {"joke": "about " + s["topic"], "items": ["punch"]})
        .add_edge(START, "refine")
        .add_edge("refine", "punch")
    )


def _run(app: Any, inp: Any, config: dict[str, Any], **kwargs: Any) -> RunControl:
    control = RunControl()
    for _ in app.stream(inp, config, control=control, **kwargs):
        pass
    return control


def test_a_completed_run_leaves_what_get_state_shows() -> None:
    app = _chain().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    for _ in range(2):  # the second run starts from the first one's state
        control = _run(app, {"topic": "cats"}, config)
        assert control.final_state is not None
        assert control.final_state == app.get_state(config).values
    assert control.final_state["items"] == ["refine", "punch", "refine", "punch"]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_astream_sets_it_with_every_durability(durability: str) -> None:
    app = _chain().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    control = RunControl()
    async for _ in app.astream(
        {"topic": "x"}, config, control=control, durability=durability, stream_mode="updates"
    ):
        pass
    assert control.final_state == (await app.aget_state(config)).values


def test_without_a_checkpointer_it_is_the_output() -> None:
    app = _chain().compile()
    control = RunControl()
    out = app.invoke({"topic": "y"}, control=control)
    assert control.final_state == out


def test_messages_fan_out_and_subgraphs() -> None:
    def chat(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"reply {len(state['messages'])}")]}

    inner = StateGraph(MessagesState).add_node("chat", chat).add_edge(START, "chat").compile()

    def fan(state: MessagesState) -> list[Send]:
        return [Send("inner", {"messages": state["messages"]}) for _ in range(2)]

    app = (
        StateGraph(MessagesState)
        .add_node("inner", inner)
        .add_conditional_edges(START, fan)
        .add_edge("inner", END)
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "m"}}
    control = _run(app, {"messages": [("user", "hi")]}, config, subgraphs=True)
    assert control.final_state is not None
    assert control.final_state == app.get_state(config).values
    assert len(control.final_state["messages"]) >= 2


def _asks() -> Any:
    def ask(state: State) -> State:
        return {"joke": str(interrupt("ok?"))}

    return (
        StateGraph(State)
        .add_node("ask", ask)
        .add_edge(START, "ask")
        .compile(checkpointer=InMemorySaver())
    )


def test_an_interrupted_run_leaves_none_and_its_resume_sets_it() -> None:
    app = _asks()
    config = {"configurable": {"thread_id": "i"}}
    control = _run(app, {"topic": "x"}, config)
    assert control.final_state is None
    assert app.get_state(config).next == ("ask",)
    control = _run(app, Command(resume="yes"), config)
    assert control.final_state == app.get_state(config).values
    assert control.final_state == {"topic": "x", "joke": "yes", "items": []}


def test_static_interrupts_errors_and_drains_leave_none() -> None:
    app = _chain().compile(checkpointer=InMemorySaver(), interrupt_before=["punch"])
    assert _run(app, {"topic": "x"}, {"configurable": {"thread_id": "b"}}).final_state is None

    def boom(state: State) -> State:
        raise ValueError("boom")

    failing = StateGraph(State).add_node("boom", boom).add_edge(START, "boom").compile()
    control = RunControl()
    with pytest.raises(ValueError):
        failing.invoke({"topic": "x"}, control=control)
    assert control.final_state is None

    def drain_me(state: State) -> State:
        control.request_drain("test")
        return {"items": ["drained"]}

    draining = (
        StateGraph(State)
        .add_node("a", drain_me)
        .add_node("b", lambda s: {"items": ["b"]})
        .add_edge(START, "a")
        .add_edge("a", "b")
        .compile(checkpointer=InMemorySaver())
    )
    control = RunControl()
    with pytest.raises(GraphDrained):
        draining.invoke({"topic": "x"}, {"configurable": {"thread_id": "d"}}, control=control)
    assert control.final_state is None


def test_a_reused_control_forgets_the_previous_run() -> None:
    app = _asks()
    control = RunControl()
    for _ in _chain().compile().stream({"topic": "x"}, control=control):
        pass
    assert control.final_state is not None
    for _ in app.stream({"topic": "x"}, {"configurable": {"thread_id": "r"}}, control=control):
        pass
    assert control.final_state is None


def test_nested_graph_calls_inside_a_node_do_not_set_the_callers_control() -> None:
    inner = _chain().compile()

    async def node(state: State) -> State:
        out = await inner.ainvoke({"topic": state["topic"]})
        return {"joke": out["joke"]}

    app = (
        StateGraph(State)
        .add_node("node", node)
        .add_edge(START, "node")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "n"}}
    control = RunControl()
    asyncio.run(app.ainvoke({"topic": "z"}, config, control=control))
    assert control.final_state == app.get_state(config).values
    assert control.final_state == {"topic": "z", "joke": "about z!", "items": []}


def test_a_run_from_an_older_checkpoint_with_nothing_to_run_leaves_none() -> None:
    app = _chain().compile(checkpointer=InMemorySaver())
    config: dict[str, Any] = {"configurable": {"thread_id": "f"}}
    _run(app, {"topic": "a"}, config)
    first = app.get_state(config).config
    _run(app, {"topic": "b"}, config)
    control = _run(app, None, first)  # replays nothing: the thread stays at "b"
    assert control.final_state is None
    assert app.get_state(config).values["topic"] == "b!"
    control = _run(app, {"topic": "c"}, first)  # a fork that runs becomes the newest
    assert control.final_state == app.get_state(config).values
    assert control.final_state["topic"] == "c!"
