"""Scenario s10: the ``"tools"`` stream mode (accepted at runtime, not in ``StreamMode``).

Pins down (STREAMING.md §9): tool lifecycle events produced by langchain-core tool callbacks
while a node runs a ``@tool`` (with a tool-call dict or with plain arguments): payload keys and
their order, tool_call_id fallback, errors, interrupts, ``nostream``, mode lists, namespaces,
subgraphs and ``version="v2"``. relaygraph has no ToolNode, so nodes call the tools themselves.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import START, StateGraph, add_messages
from relaygraph.types import Command, interrupt

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STARTED_KEYS = ["event", "tool_call_id", "tool_name", "input"]
FINISHED_KEYS = ["event", "tool_call_id", "output"]
ERROR_KEYS = ["event", "tool_call_id", "message"]


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


@tool
def failing_tool(x: int) -> str:
    """Always fails."""
    raise ValueError("tool exploded")


@tool
def ask_human(q: str) -> str:
    """Ask a human."""
    return interrupt(q)


class MState(TypedDict):
    messages: Annotated[list, add_messages]


def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def run_tools(state: MState) -> dict[str, Any]:
    """Runs two tool calls like a tool-executing node: one succeeds, one fails."""
    out = [get_weather.invoke(call("get_weather", {"city": "Paris"}, "call-1"))]
    try:
        failing_tool.invoke(call("failing_tool", {"x": 1}, "call-2"))
    except ValueError as e:
        out.append(ToolMessage(content=f"Error: {e}", tool_call_id="call-2", status="error"))
    return {"messages": out}


def agent(state: MState) -> dict[str, Any]:
    return {
        "messages": [
            AIMessage(
                content="",
                id="ai-1",
                tool_calls=[
                    {
                        "name": "get_weather",
                        "args": {"city": "Paris"},
                        "id": "call-1",
                        "type": "tool_call",
                    },
                    {"name": "failing_tool", "args": {"x": 1}, "id": "call-2", "type": "tool_call"},
                ],
            )
        ]
    }


def agent_graph() -> Any:
    builder = StateGraph(MState)
    builder.add_node("agent", agent)
    builder.add_node("tools", run_tools)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "tools")
    return builder.compile()


def single(fn: Any, name: str = "node", checkpointer: Any = None) -> Any:
    builder = StateGraph(MState)
    builder.add_node(name, fn)
    builder.add_edge(START, name)
    return builder.compile(checkpointer=checkpointer)


INPUT = {"messages": [HumanMessage(content="weather?", id="h1")]}


def assert_tool_events(events: list[dict[str, Any]]) -> None:
    """The four events of ``run_tools``, in order, with their exact keys."""
    assert [list(e) for e in events] == [STARTED_KEYS, FINISHED_KEYS, STARTED_KEYS, ERROR_KEYS]
    started_1, finished_1, started_2, error_2 = events
    assert started_1 == {
        "event": "tool-started",
        "tool_call_id": "call-1",
        "tool_name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert finished_1["event"] == "tool-finished"
    assert finished_1["tool_call_id"] == "call-1"
    output = finished_1["output"]
    assert type(output) is ToolMessage
    assert (output.content, output.name, output.tool_call_id) == (
        "sunny in Paris",
        "get_weather",
        "call-1",
    )
    assert started_2 == {
        "event": "tool-started",
        "tool_call_id": "call-2",
        "tool_name": "failing_tool",
        "input": {"x": 1},
    }
    assert error_2 == {"event": "tool-error", "tool_call_id": "call-2", "message": "tool exploded"}


# ---------------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------------


def test_tools_mode_events(runner):
    chunks = runner.stream(agent_graph(), INPUT, stream_mode="tools")

    assert all(type(c) is dict for c in chunks)
    assert_tool_events(chunks)


def test_tools_mode_with_updates(runner):
    chunks = runner.stream(agent_graph(), INPUT, stream_mode=["tools", "updates"])

    assert [mode for mode, _ in chunks] == [
        "updates",
        "tools",
        "tools",
        "tools",
        "tools",
        "updates",
    ]
    assert list(chunks[0][1]) == ["agent"]
    assert_tool_events([c for mode, c in chunks if mode == "tools"])
    messages = chunks[-1][1]["tools"]["messages"]
    assert [m.tool_call_id for m in messages] == ["call-1", "call-2"]
    # The finished event carries the very ToolMessage the node returned.
    assert chunks[2][1]["output"] is messages[0]


def test_tools_mode_with_messages(runner):
    chunks = runner.stream(agent_graph(), INPUT, stream_mode=["tools", "messages"])

    assert [mode for mode, _ in chunks] == [
        "messages",
        "tools",
        "tools",
        "tools",
        "tools",
        "messages",
        "messages",
    ]
    ai, ai_meta = chunks[0][1]
    assert ai.id == "ai-1"
    assert ai_meta["langgraph_node"] == "agent"
    assert_tool_events([c for mode, c in chunks if mode == "tools"])
    tool_msgs = [payload for mode, payload in chunks[5:]]
    assert [type(m) for m, _ in tool_msgs] == [ToolMessage, ToolMessage]
    assert [m.tool_call_id for m, _ in tool_msgs] == ["call-1", "call-2"]
    for _, meta in tool_msgs:
        assert meta["ls_integration"] == "langgraph"
        assert meta["langgraph_node"] == "tools"
        assert meta["langgraph_step"] == 2


def test_tools_mode_with_subgraphs_true_at_root(runner):
    chunks = runner.stream(agent_graph(), INPUT, stream_mode="tools", subgraphs=True)

    assert [ns for ns, _ in chunks] == [()] * 4
    assert_tool_events([c for _, c in chunks])


def test_tools_mode_version_v2(runner):
    chunks = runner.stream(agent_graph(), INPUT, stream_mode="tools", version="v2")

    for part in chunks:
        assert list(part) == ["type", "ns", "data"]
        assert part["type"] == "tools"
        assert part["ns"] == ()
    assert_tool_events([p["data"] for p in chunks])


def test_tools_not_requested_yield_nothing(runner):
    assert [list(c) for c in runner.stream(agent_graph(), INPUT, stream_mode="updates")] == [
        ["agent"],
        ["tools"],
    ]


def test_tools_mode_is_not_in_stream_mode_literal():
    import typing

    from relaygraph.types import StreamMode

    assert "tools" not in typing.get_args(StreamMode)
    assert typing.get_args(StreamMode) == (
        "values",
        "updates",
        "checkpoints",
        "tasks",
        "debug",
        "messages",
        "custom",
    )


# ---------------------------------------------------------------------------------------------
# Tool called directly (no tool call id)
# ---------------------------------------------------------------------------------------------


def test_direct_invoke_uses_run_id_and_raw_output(runner):
    def direct(state: MState) -> dict[str, Any]:
        out = get_weather.invoke({"city": "Rome"})
        return {"messages": [AIMessage(content=out, id="ai-direct")]}

    chunks = runner.stream(single(direct, "direct"), INPUT, stream_mode="tools")

    assert len(chunks) == 2
    started, finished = chunks
    assert list(started) == STARTED_KEYS
    assert re.fullmatch(UUID, started["tool_call_id"])
    assert started == {
        "event": "tool-started",
        "tool_call_id": started["tool_call_id"],
        "tool_name": "get_weather",
        "input": {"city": "Rome"},
    }
    assert finished == {
        "event": "tool-finished",
        "tool_call_id": started["tool_call_id"],
        "output": "sunny in Rome",
    }
    assert list(finished) == FINISHED_KEYS


def test_string_input_has_no_input_key(runner):
    def direct(state: MState) -> dict[str, Any]:
        return {"messages": [AIMessage(content=get_weather.invoke("Rome"), id="x")]}

    chunks = runner.stream(single(direct), INPUT, stream_mode="tools")

    started, finished = chunks
    assert list(started) == ["event", "tool_call_id", "tool_name"]
    assert started["tool_name"] == "get_weather"
    assert finished["output"] == "sunny in Rome"
    assert finished["tool_call_id"] == started["tool_call_id"]


def test_async_node_ainvoke_tool():
    async def anode(state: MState) -> dict[str, Any]:
        return {
            "messages": [await get_weather.ainvoke(call("get_weather", {"city": "Lima"}, "call-a"))]
        }

    async def collect() -> list[Any]:
        return [c async for c in single(anode).astream(INPUT, stream_mode="tools")]

    chunks = asyncio.run(collect())

    assert [c["event"] for c in chunks] == ["tool-started", "tool-finished"]
    assert chunks[0] == {
        "event": "tool-started",
        "tool_call_id": "call-a",
        "tool_name": "get_weather",
        "input": {"city": "Lima"},
    }
    assert chunks[1]["output"].content == "sunny in Lima"


# ---------------------------------------------------------------------------------------------
# nostream, subgraphs, interrupts
# ---------------------------------------------------------------------------------------------


def test_nostream_tag_on_tool_suppresses_events(runner):
    def quiet(state: MState) -> dict[str, Any]:
        quiet_tool = get_weather.with_config(tags=["nostream"])
        return {"messages": [quiet_tool.invoke(call("get_weather", {"city": "Oslo"}, "call-q"))]}

    assert runner.stream(single(quiet), INPUT, stream_mode="tools") == []


def test_nostream_tag_in_invoke_config_suppresses_events(runner):
    def quiet(state: MState) -> dict[str, Any]:
        msg = get_weather.invoke(
            call("get_weather", {"city": "Oslo"}, "call-q"), config={"tags": ["nostream"]}
        )
        return {"messages": [msg]}

    assert runner.stream(single(quiet), INPUT, stream_mode="tools") == []


def _tool_subgraph_parent() -> Any:
    def inner(state: MState) -> dict[str, Any]:
        return {"messages": [get_weather.invoke(call("get_weather", {"city": "Oslo"}, "call-s"))]}

    sub = StateGraph(MState)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    parent = StateGraph(MState)
    parent.add_node("outer", sub.compile())
    parent.add_edge(START, "outer")
    return parent.compile()


def test_subgraph_tool_events_dropped_without_subgraphs(runner):
    assert runner.stream(_tool_subgraph_parent(), INPUT, stream_mode="tools") == []


def test_subgraph_tool_events_under_namespace_with_subgraphs(runner):
    chunks = runner.stream(_tool_subgraph_parent(), INPUT, stream_mode="tools", subgraphs=True)

    assert len(chunks) == 2
    ns = chunks[0][0]
    assert re.fullmatch(rf"outer:{UUID}", ns[0]) and len(ns) == 1
    assert chunks[1][0] == ns
    assert chunks[0][1] == {
        "event": "tool-started",
        "tool_call_id": "call-s",
        "tool_name": "get_weather",
        "input": {"city": "Oslo"},
    }
    assert chunks[1][1]["event"] == "tool-finished"
    assert chunks[1][1]["output"].content == "sunny in Oslo"


def test_subgraph_tool_events_namespace_matches_updates(runner):
    chunks = runner.stream(
        _tool_subgraph_parent(), INPUT, stream_mode=["tools", "updates"], subgraphs=True
    )

    assert [(len(ns), mode) for ns, mode, _ in chunks] == [
        (1, "tools"),
        (1, "tools"),
        (1, "updates"),
        (0, "updates"),
    ]
    assert chunks[0][0] == chunks[2][0]
    assert list(chunks[2][2]) == ["inner"]
    assert list(chunks[3][2]) == ["outer"]


def test_interrupted_tool_reports_no_error_and_restarts_on_resume(runner):
    def node(state: MState) -> dict[str, Any]:
        return {"messages": [ask_human.invoke(call("ask_human", {"q": "why?"}, "call-9"))]}

    graph = single(node, "n", checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}

    first = runner.stream(graph, {"messages": []}, config, stream_mode=["tools", "updates"])
    assert [mode for mode, _ in first] == ["tools", "updates"]
    assert first[0][1] == {
        "event": "tool-started",
        "tool_call_id": "call-9",
        "tool_name": "ask_human",
        "input": {"q": "why?"},
    }
    (intr,) = first[1][1]["__interrupt__"]
    assert intr.value == "why?"

    second = runner.stream(
        graph, Command(resume="because"), config, stream_mode=["tools", "updates"]
    )
    assert [mode for mode, _ in second] == ["tools", "tools", "updates"]
    assert second[0][1] == first[0][1]
    finished = second[1][1]
    assert (finished["event"], finished["tool_call_id"]) == ("tool-finished", "call-9")
    assert finished["output"].content == "because"
    (msg,) = second[2][1]["n"]["messages"]
    assert msg.content == "because"


def test_tool_error_propagating_out_of_node(runner):
    def node(state: MState) -> dict[str, Any]:
        return {"messages": [failing_tool.invoke(call("failing_tool", {"x": 1}, "call-e"))]}

    chunks, exc = runner.stream_until_error(single(node), INPUT, stream_mode=["tools", "updates"])

    assert type(exc) is ValueError and str(exc) == "tool exploded"
    assert chunks == [
        (
            "tools",
            {
                "event": "tool-started",
                "tool_call_id": "call-e",
                "tool_name": "failing_tool",
                "input": {"x": 1},
            },
        ),
        ("tools", {"event": "tool-error", "tool_call_id": "call-e", "message": "tool exploded"}),
    ]
