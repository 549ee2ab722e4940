"""``astream_events`` and LangChain callbacks on graphs, beyond the golden scenario (s09).

With callbacks in the config, a run is traced as LangChain chain runs: the graph, each node
attempt (``graph:step:N``), each conditional edge (``seq:step:K`` under its node), and what
runs inside nodes. ``astream_events`` turns those runs, plus the root ``astream`` chunks, into
events. These tests pin the event sequences, ids, tags and metadata for conditional edges,
errors, retries, interrupts, caching, nested graphs, stream modes and filters, and the
callback runs seen by ``invoke``/``ainvoke`` (sync and async through ``runner``).
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import re
import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from relaygraph.cache.memory import InMemoryCache
from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.config import get_stream_writer
from relaygraph.graph import END, START, StateGraph, add_messages
from relaygraph.types import CachePolicy, Command, RetryPolicy, interrupt

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class State(TypedDict, total=False):
    log: Annotated[list, operator.add]
    x: str


class MState(TypedDict):
    messages: Annotated[list, add_messages]


def events_of(graph: Any, inp: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [ev async for ev in graph.astream_events(inp, *args, **kwargs)]

    return asyncio.run(collect())


def events_until_error(graph: Any, inp: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    out: list[dict[str, Any]] = []

    async def collect() -> BaseException | None:
        try:
            async for ev in graph.astream_events(inp, **kwargs):
                out.append(ev)
        except Exception as e:
            return e
        return None

    return out, asyncio.run(collect())


def seq(events: list[dict[str, Any]]) -> list[tuple[str, str, list[str], int]]:
    return [(ev["event"], ev["name"], ev["tags"], len(ev["parent_ids"])) for ev in events]


def routed() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", lambda s: {"log": ["b"]})

    def route(state: State) -> str:
        return "b" if len(state["log"]) < 2 else END

    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, {"b": "b", END: END})
    return builder.compile()


# ---------------------------------------------------------------------------------------------
# Conditional edges, errors, retries
# ---------------------------------------------------------------------------------------------


def test_conditional_edge_is_a_run_under_its_node() -> None:
    events = events_of(routed(), {"log": []}, version="v2")

    assert seq(events)[:8] == [
        ("on_chain_start", "LangGraph", [], 0),
        ("on_chain_start", "a", ["graph:step:1"], 1),
        ("on_chain_start", "route", ["seq:step:3"], 2),
        ("on_chain_end", "route", ["seq:step:3"], 2),
        ("on_chain_stream", "a", ["graph:step:1"], 1),
        ("on_chain_end", "a", ["graph:step:1"], 1),
        ("on_chain_stream", "LangGraph", [], 0),
        ("on_chain_start", "b", ["graph:step:2"], 1),
    ]
    route_end = events[3]
    assert route_end["data"] == {"output": "b", "input": {"log": ["a"]}}
    assert route_end["parent_ids"] == [events[0]["run_id"], events[1]["run_id"]]
    assert route_end["metadata"]["langgraph_node"] == "a"


def test_conditional_edge_step_tags_count_static_edges_and_branches() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", lambda s: {"log": ["b"]})

    def first(state: State) -> str:
        return END

    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("a", first)
    builder.add_conditional_edges("a", lambda s: END)
    events = events_of(builder.compile(), {"log": []}, version="v2")

    branch_runs = [(ev["name"], ev["tags"]) for ev in events if ev["event"] == "on_chain_start"][
        2:4
    ]
    # LangGraph leaves an anonymous routing function's run unnamed when the node streams.
    assert branch_runs == [("first", ["seq:step:4"]), ("Unnamed", ["seq:step:5"])]


def test_node_error_ends_the_stream_with_the_error() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})

    def boom(state: State) -> dict[str, Any]:
        raise ValueError("boom")

    builder.add_node("boom", boom)
    builder.add_edge(START, "a")
    builder.add_edge("a", "boom")

    events, error = events_until_error(builder.compile(), {"log": []}, version="v2")

    assert isinstance(error, ValueError) and str(error) == "boom"
    assert [(ev["event"], ev["name"]) for ev in events][-2:] == [
        ("on_chain_stream", "LangGraph"),
        ("on_chain_start", "boom"),
    ]


def test_each_retry_attempt_is_its_own_node_run() -> None:
    attempts = {"n": 0}

    def flaky(state: State) -> dict[str, Any]:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise ValueError("again")
        return {"x": "ok"}

    builder = StateGraph(State)
    builder.add_node(
        "flaky",
        flaky,
        retry_policy=RetryPolicy(initial_interval=0, jitter=False, retry_on=ValueError),
    )
    builder.add_edge(START, "flaky")

    events = events_of(builder.compile(), {"log": []}, version="v2")
    node_events = [(ev["event"], ev["run_id"]) for ev in events if ev["name"] == "flaky"]

    starts = [rid for kind, rid in node_events if kind == "on_chain_start"]
    assert len(starts) == 2 and starts[0] != starts[1]
    # The failed attempt has no end event; the second streams and ends.
    assert node_events[1:] == [
        ("on_chain_start", starts[1]),
        ("on_chain_stream", starts[1]),
        ("on_chain_end", starts[1]),
    ]


def test_node_returning_a_command_streams_the_command() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: Command(update={"x": "a"}, goto="b"))
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")

    events = events_of(builder.compile(), {"log": []}, version="v2")
    chunk = next(ev["data"]["chunk"] for ev in events if ev["event"] == "on_chain_stream")

    assert isinstance(chunk, Command) and chunk.update == {"x": "a"} and chunk.goto == "b"
    assert events[-1]["data"] == {"output": {"log": ["b"], "x": "a"}}


# ---------------------------------------------------------------------------------------------
# Config: run id, name, tags, metadata, thread
# ---------------------------------------------------------------------------------------------


def test_config_run_id_name_tags_and_metadata() -> None:
    run_id = uuid.uuid4()
    config = {"run_id": run_id, "run_name": "Custom", "tags": ["T"], "metadata": {"m": 1}}
    events = events_of(routed(), {"log": []}, config, version="v2")

    root, node, route = events[0], events[1], events[2]
    assert (root["name"], root["run_id"], root["tags"]) == ("Custom", str(run_id), ["T"])
    assert root["metadata"] == {"m": 1, "ls_integration": "langgraph"}
    assert node["tags"] == ["graph:step:1", "T"]
    assert node["metadata"]["m"] == 1
    assert route["tags"] == ["seq:step:3", "T"]
    assert events[-1]["run_id"] == str(run_id)


def test_interrupt_with_thread() -> None:
    builder = StateGraph(State)
    builder.add_node("ask", lambda s: {"x": interrupt("why?")})
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}

    events = events_of(graph, {"log": []}, config, version="v2")

    assert [(ev["event"], ev["name"]) for ev in events] == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "ask"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    assert events[0]["metadata"]["thread_id"] == "t1"
    assert events[1]["metadata"]["thread_id"] == "t1"
    (intr,) = events[2]["data"]["chunk"]["__interrupt__"]
    assert intr.value == "why?"
    assert events[3]["data"] == {"output": {"log": []}}

    resumed = events_of(graph, Command(resume="because"), config, version="v2")
    assert [(ev["event"], ev["name"]) for ev in resumed][1:4] == [
        ("on_chain_start", "ask"),
        ("on_chain_stream", "ask"),
        ("on_chain_end", "ask"),
    ]
    assert resumed[-1]["data"] == {"output": {"log": [], "x": "because"}}


def test_cached_node_has_no_run() -> None:
    builder = StateGraph(State)
    builder.add_node("slow", lambda s: {"x": "done"}, cache_policy=CachePolicy())
    builder.add_edge(START, "slow")
    graph = builder.compile(cache=InMemoryCache())

    first = events_of(graph, {"log": []}, version="v2")
    second = events_of(graph, {"log": []}, version="v2")

    assert [ev["name"] for ev in first].count("slow") == 3
    assert [(ev["event"], ev["name"]) for ev in second] == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    assert second[1]["data"] == {"chunk": {"slow": {"x": "done"}, "__metadata__": {"cached": True}}}


# ---------------------------------------------------------------------------------------------
# Nested graphs, stream modes, filters, versions
# ---------------------------------------------------------------------------------------------


def _inner() -> Any:
    sub = StateGraph(State)
    sub.add_node("s1", lambda s: {"log": ["s1"]})
    sub.add_edge(START, "s1")
    return sub.compile()


def test_graph_called_inside_a_node_is_nested_under_it() -> None:
    inner = _inner()

    async def caller(state: State) -> dict[str, Any]:
        out = await inner.ainvoke({"log": []})
        return {"log": out["log"]}

    builder = StateGraph(State)
    builder.add_node("caller", caller)
    builder.add_edge(START, "caller")
    events = events_of(builder.compile(), {"log": []}, version="v2")

    assert seq(events) == [
        ("on_chain_start", "LangGraph", [], 0),
        ("on_chain_start", "caller", ["graph:step:1"], 1),
        ("on_chain_start", "LangGraph", ["seq:step:1"], 2),
        ("on_chain_start", "s1", ["graph:step:1"], 3),
        ("on_chain_stream", "s1", ["graph:step:1"], 3),
        ("on_chain_end", "s1", ["graph:step:1"], 3),
        ("on_chain_end", "LangGraph", ["seq:step:1"], 2),
        ("on_chain_stream", "caller", ["graph:step:1"], 1),
        ("on_chain_end", "caller", ["graph:step:1"], 1),
        ("on_chain_stream", "LangGraph", [], 0),
        ("on_chain_end", "LangGraph", [], 0),
    ]
    caller_ns = events[1]["metadata"]["langgraph_checkpoint_ns"]
    assert re.fullmatch(rf"caller:{UUID}", caller_ns)
    assert events[2]["metadata"]["checkpoint_ns"] == caller_ns


def test_subgraphs_kwarg_shapes_root_chunks() -> None:
    parent = StateGraph(State)
    parent.add_node("sub", _inner())
    parent.add_edge(START, "sub")

    events = events_of(parent.compile(), {"log": []}, version="v2", subgraphs=True)
    chunks = [
        ev["data"]["chunk"]
        for ev in events
        if ev["event"] == "on_chain_stream" and not ev["parent_ids"]
    ]

    assert len(chunks) == 2
    (sub_ns,), sub_chunk = chunks[0]
    assert re.fullmatch(rf"sub:{UUID}", sub_ns) and sub_chunk == {"s1": {"log": ["s1"]}}
    assert chunks[1] == ((), {"sub": {"log": ["s1"]}})


def _model_graph() -> Any:
    llm = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content="hi there")]))

    async def call(state: MState) -> dict[str, Any]:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    builder = StateGraph(MState)
    builder.add_node("call", call)
    builder.add_edge(START, "call")
    return builder.compile()


HUMAN = {"messages": [HumanMessage(content="x", id="h1")]}


def test_messages_mode_root_chunks_follow_model_tokens() -> None:
    events = events_of(_model_graph(), HUMAN, version="v2", stream_mode="messages")

    kinds = [(ev["event"], ev["name"]) for ev in events]
    assert kinds[2:10] == [
        ("on_chat_model_start", "GenericFakeChatModel"),
        ("on_chat_model_stream", "GenericFakeChatModel"),
        ("on_chain_stream", "LangGraph"),
        ("on_chat_model_stream", "GenericFakeChatModel"),
        ("on_chain_stream", "LangGraph"),
        ("on_chat_model_stream", "GenericFakeChatModel"),
        ("on_chain_stream", "LangGraph"),
        ("on_chat_model_end", "GenericFakeChatModel"),
    ]
    token, meta = events[4]["data"]["chunk"]
    assert isinstance(token, AIMessageChunk) and token.content == "hi"
    assert meta["langgraph_node"] == "call"


def test_custom_and_updates_modes_tag_root_chunks() -> None:
    async def writer_node(state: State) -> dict[str, Any]:
        get_stream_writer()("progress")
        return {"x": "w"}

    builder = StateGraph(State)
    builder.add_node("writer_node", writer_node)
    builder.add_edge(START, "writer_node")

    events = events_of(
        builder.compile(), {"log": []}, version="v2", stream_mode=["updates", "custom"]
    )
    chunks = [
        ev["data"]["chunk"]
        for ev in events
        if ev["event"] == "on_chain_stream" and not ev["parent_ids"]
    ]

    assert chunks == [("custom", "progress"), ("updates", {"writer_node": {"x": "w"}})]


def test_type_and_name_filters() -> None:
    events = events_of(
        _model_graph(),
        HUMAN,
        version="v2",
        include_types=["chat_model", "chain"],
        exclude_names=["call"],
    )

    assert {ev["name"] for ev in events} == {"LangGraph", "GenericFakeChatModel"}
    assert events[0]["event"] == "on_chain_start"
    only_model = events_of(_model_graph(), HUMAN, version="v2", include_types=["chat_model"])
    assert {ev["event"] for ev in only_model} == {
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_end",
    }


def test_unsupported_versions() -> None:
    graph = routed()

    with pytest.raises(NotImplementedError):
        list(graph.stream_events({"log": []}, version="v1"))
    with pytest.raises(NotImplementedError):
        events_of(graph, {"log": []}, version="v9")


# ---------------------------------------------------------------------------------------------
# Callbacks through invoke / ainvoke
# ---------------------------------------------------------------------------------------------


class Recorder(BaseCallbackHandler):
    """Records chain runs as (kind, name, run, parent, tags) with short run numbers."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.ids: dict[Any, int] = {}

    def _n(self, run_id: Any) -> int | None:
        return None if run_id is None else self.ids.setdefault(run_id, len(self.ids))

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        tags: Any = None,
        metadata: Any = None,
        name: Any = None,
        **kwargs: Any,
    ) -> None:
        self.events.append(("start", name, self._n(run_id), self._n(parent_run_id), tags))

    def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
        self.events.append(("end", self._n(run_id), outputs))

    def on_chain_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self.events.append(("error", self._n(run_id), repr(error)))


def test_invoke_with_callbacks_traces_graph_nodes_and_edges(runner: Any) -> None:
    recorder = Recorder()

    out = runner.invoke(routed(), {"log": []}, {"callbacks": [recorder]})

    assert out == {"log": ["a", "b"]}
    route = "route"
    assert recorder.events == [
        ("start", "LangGraph", 0, None, []),
        ("start", "a", 1, 0, ["graph:step:1"]),
        ("start", route, 2, 1, ["seq:step:3"]),
        ("end", 2, "b"),
        ("end", 1, {"log": ["a"]}),
        ("start", "b", 3, 0, ["graph:step:2"]),
        ("end", 3, {"log": ["b"]}),
        ("end", 0, {"log": ["a", "b"]}),
    ]


def test_anonymous_edge_name_depends_on_the_face(runner: Any) -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: END)
    recorder = Recorder()

    runner.invoke(builder.compile(), {"log": []}, {"callbacks": [recorder]})

    names = [e[1] for e in recorder.events if e[0] == "start"]
    assert names == ["LangGraph", "a", "RunnableCallable" if runner.kind == "sync" else None]


def test_callbacks_see_errors(runner: Any) -> None:
    def boom(state: State) -> dict[str, Any]:
        raise ValueError("boom")

    builder = StateGraph(State)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    recorder = Recorder()

    with pytest.raises(ValueError, match="boom"):
        runner.invoke(builder.compile(), {"log": []}, {"callbacks": [recorder]})

    assert recorder.events == [
        ("start", "LangGraph", 0, None, []),
        ("start", "boom", 1, 0, ["graph:step:1"]),
        ("error", 1, "ValueError('boom')"),
        ("error", 0, "ValueError('boom')"),
    ]


def test_stream_with_callbacks_traces_too() -> None:
    recorder = Recorder()

    chunks = list(routed().stream({"log": []}, {"callbacks": [recorder]}))

    assert chunks == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}]
    assert [e[1] for e in recorder.events if e[0] == "start"] == ["LangGraph", "a", "route", "b"]
