"""Scenario s09: ``astream_events`` (v2, and v1) on graphs.

Pins down (STREAMING.md §13): the event sequence, names, tags, metadata, run ids and
parent_ids, the key order of each event kind, ``include_names``/``include_tags`` filtering,
custom events and the root ``on_chain_stream`` chunks that follow ``stream_mode``.
astream_events is async-only, so these are plain tests that drive it with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import warnings
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from relaygraph.config import get_stream_writer
from relaygraph.graph import START, StateGraph, add_messages

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
START_KEYS = ["event", "data", "name", "tags", "run_id", "metadata", "parent_ids"]
STREAM_KEYS = ["event", "run_id", "name", "tags", "metadata", "data", "parent_ids"]
END_KEYS = ["event", "data", "run_id", "name", "tags", "metadata", "parent_ids"]
NODE_META_KEYS = [
    "ls_integration",
    "langgraph_step",
    "langgraph_node",
    "langgraph_triggers",
    "langgraph_path",
    "langgraph_checkpoint_ns",
]
LLM_META_KEYS = [
    *NODE_META_KEYS,
    "checkpoint_ns",
    "ls_provider",
    "ls_model_type",
    "lc_versions",
]
INPUT = {"topic": "ice cream"}
TOPIC = "ice cream and cats"
JOKE = "This is a joke about ice cream and cats"


class State(TypedDict):
    topic: str
    joke: str


class MState(TypedDict):
    messages: Annotated[list, add_messages]


class SState(TypedDict):
    foo: str


def two_node() -> Any:
    builder = StateGraph(State)
    builder.add_node("refine_topic", lambda state: {"topic": state["topic"] + " and cats"})
    builder.add_node(
        "generate_joke", lambda state: {"joke": f"This is a joke about {state['topic']}"}
    )
    builder.add_edge(START, "refine_topic")
    builder.add_edge("refine_topic", "generate_joke")
    return builder.compile()


def events_of(graph: Any, inp: Any, **kwargs: Any) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [ev async for ev in graph.astream_events(inp, **kwargs)]

    return asyncio.run(collect())


def summary(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(event, name, tags, number of parents, data keys) per event."""
    return [
        (ev["event"], ev["name"], ev["tags"], len(ev["parent_ids"]), list(ev["data"]))
        for ev in events
    ]


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(UUID, value) is not None


def node_meta(step: int, node: str) -> dict[str, Any]:
    """Node metadata without langgraph_checkpoint_ns (checked separately)."""
    return {
        "ls_integration": "langgraph",
        "langgraph_step": step,
        "langgraph_node": node,
        "langgraph_triggers": (f"branch:to:{node}",),
        "langgraph_path": ("__pregel_pull", node),
    }


def assert_key_order(ev: dict[str, Any]) -> None:
    """Observed insertion order: start, chain-stream/custom, and end/chat-model-stream events."""
    if ev["event"] == "on_chat_model_stream":
        expected = END_KEYS
    else:
        kind = ev["event"].rsplit("_", 1)[1]
        expected = {
            "start": START_KEYS,
            "stream": STREAM_KEYS,
            "end": END_KEYS,
            "event": STREAM_KEYS,
        }[kind]
    assert list(ev) == expected, ev["event"]


# ---------------------------------------------------------------------------------------------
# Two-node graph
# ---------------------------------------------------------------------------------------------


TWO_NODE_SUMMARY = [
    ("on_chain_start", "LangGraph", [], 0, ["input"]),
    ("on_chain_start", "refine_topic", ["graph:step:1"], 1, ["input"]),
    ("on_chain_stream", "refine_topic", ["graph:step:1"], 1, ["chunk"]),
    ("on_chain_end", "refine_topic", ["graph:step:1"], 1, ["output", "input"]),
    ("on_chain_stream", "LangGraph", [], 0, ["chunk"]),
    ("on_chain_start", "generate_joke", ["graph:step:2"], 1, ["input"]),
    ("on_chain_stream", "generate_joke", ["graph:step:2"], 1, ["chunk"]),
    ("on_chain_end", "generate_joke", ["graph:step:2"], 1, ["output", "input"]),
    ("on_chain_stream", "LangGraph", [], 0, ["chunk"]),
    ("on_chain_end", "LangGraph", [], 0, ["output"]),
]


def test_two_node_event_sequence():
    events = events_of(two_node(), INPUT, version="v2")

    assert summary(events) == TWO_NODE_SUMMARY


def test_two_node_event_key_order():
    events = events_of(two_node(), INPUT, version="v2")

    for ev in events:
        assert_key_order(ev)


def test_two_node_run_ids_and_parent_ids():
    events = events_of(two_node(), INPUT, version="v2")

    root = events[0]["run_id"]
    assert is_uuid(root)
    assert all(ev["run_id"] == root for ev in (events[0], events[4], events[8], events[9]))
    assert all(ev["parent_ids"] == [] for ev in (events[0], events[4], events[8], events[9]))
    refine, joke = events[1]["run_id"], events[5]["run_id"]
    assert is_uuid(refine) and is_uuid(joke)
    assert len({root, refine, joke}) == 3
    assert [ev["run_id"] for ev in events[1:4]] == [refine] * 3
    assert [ev["run_id"] for ev in events[5:8]] == [joke] * 3
    assert all(ev["parent_ids"] == [root] for ev in events[1:4] + events[5:8])


def test_two_node_metadata():
    events = events_of(two_node(), INPUT, version="v2")

    for i in (0, 4, 8, 9):
        assert events[i]["metadata"] == {"ls_integration": "langgraph"}
    for group, step, node in ((events[1:4], 1, "refine_topic"), (events[5:8], 2, "generate_joke")):
        namespaces = set()
        for ev in group:
            meta = ev["metadata"]
            assert list(meta) == NODE_META_KEYS
            assert {k: v for k, v in meta.items() if k != "langgraph_checkpoint_ns"} == node_meta(
                step, node
            )
            namespaces.add(meta["langgraph_checkpoint_ns"])
        (ns,) = namespaces
        assert re.fullmatch(rf"{node}:{UUID}", ns)


def test_two_node_event_data():
    events = events_of(two_node(), INPUT, version="v2")

    assert [ev["data"] for ev in events] == [
        {"input": INPUT},
        {"input": INPUT},
        {"chunk": {"topic": TOPIC}},
        {"output": {"topic": TOPIC}, "input": INPUT},
        {"chunk": {"refine_topic": {"topic": TOPIC}}},
        {"input": {"topic": TOPIC}},
        {"chunk": {"joke": JOKE}},
        {"output": {"joke": JOKE}, "input": {"topic": TOPIC}},
        {"chunk": {"generate_joke": {"joke": JOKE}}},
        {"output": {"topic": TOPIC, "joke": JOKE}},
    ]


def test_root_stream_chunks_follow_stream_mode_values():
    events = events_of(two_node(), INPUT, version="v2", stream_mode="values")

    assert [(ev["event"], ev["name"]) for ev in events] == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_start", "refine_topic"),
        ("on_chain_stream", "refine_topic"),
        ("on_chain_end", "refine_topic"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_start", "generate_joke"),
        ("on_chain_stream", "generate_joke"),
        ("on_chain_end", "generate_joke"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    root_chunks = [
        ev["data"]["chunk"]
        for ev in events
        if ev["event"] == "on_chain_stream" and ev["name"] == "LangGraph"
    ]
    assert root_chunks == [INPUT, {"topic": TOPIC}, {"topic": TOPIC, "joke": JOKE}]


def test_root_stream_chunks_follow_stream_mode_list():
    events = events_of(two_node(), INPUT, version="v2", stream_mode=["values", "updates"])

    assert len(events) == 13
    root_chunks = [
        ev["data"]["chunk"]
        for ev in events
        if ev["event"] == "on_chain_stream" and ev["name"] == "LangGraph"
    ]
    assert root_chunks == [
        ("values", INPUT),
        ("updates", {"refine_topic": {"topic": TOPIC}}),
        ("values", {"topic": TOPIC}),
        ("updates", {"generate_joke": {"joke": JOKE}}),
        ("values", {"topic": TOPIC, "joke": JOKE}),
    ]
    assert [(ev["event"], ev["name"]) for ev in events][4:7] == [
        ("on_chain_end", "refine_topic"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_stream", "LangGraph"),
    ]
    assert events[-1]["data"] == {"output": {"topic": TOPIC, "joke": JOKE}}


def test_version_v1_same_sequence_without_parent_ids():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        events = events_of(two_node(), INPUT, version="v1")

    assert [(ev["event"], ev["name"], ev["tags"]) for ev in events] == [
        (e, n, t) for e, n, t, _, _ in TWO_NODE_SUMMARY
    ]
    assert all(ev.get("parent_ids", []) == [] for ev in events)
    assert [sorted(ev["data"]) for ev in events] == [sorted(d) for *_, d in TWO_NODE_SUMMARY]


def test_include_names_keeps_only_that_runnable():
    events = events_of(two_node(), INPUT, version="v2", include_names=["generate_joke"])

    assert summary(events) == [
        ("on_chain_start", "generate_joke", ["graph:step:2"], 1, ["input"]),
        ("on_chain_stream", "generate_joke", ["graph:step:2"], 1, ["chunk"]),
        ("on_chain_end", "generate_joke", ["graph:step:2"], 1, ["output"]),
    ]
    assert events[1]["data"] == {"chunk": {"joke": JOKE}}
    assert events[2]["data"] == {"output": {"joke": JOKE}}
    assert len({ev["run_id"] for ev in events}) == 1
    # The parent (root) is still listed even though its events are filtered out.
    assert is_uuid(events[0]["parent_ids"][0])


def test_include_names_start_input_quirk():
    # Observed in the reference: the filtered start event carries the graph's input.
    events = events_of(two_node(), INPUT, version="v2", include_names=["generate_joke"])

    assert events[0]["data"] == {"input": INPUT}


def test_sync_stream_events_v2_not_supported():
    with pytest.raises(NotImplementedError) as info:
        list(two_node().stream_events(INPUT, version="v2"))

    assert str(info.value) == (
        "stream_events(version='v2') is not supported. Use astream_events() for v1/v2, "
        "or stream_events(version='v3') on a supported subclass."
    )


# ---------------------------------------------------------------------------------------------
# Chat model inside a node
# ---------------------------------------------------------------------------------------------


def _messages_graph(llm: Any, is_async: bool = False) -> Any:
    if is_async:

        async def call_model(state: MState) -> dict[str, Any]:
            return {"messages": [await llm.ainvoke(state["messages"])]}

    else:

        def call_model(state: MState) -> dict[str, Any]:  # type: ignore[misc]
            return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MState)
    builder.add_node("call_model", call_model)
    builder.add_edge(START, "call_model")
    return builder.compile()


def _hello_llm() -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage(content="hello world")]))


HUMAN_IN = {"messages": [HumanMessage(content="hi", id="h1")]}


def test_chat_model_event_sequence():
    events = events_of(_messages_graph(_hello_llm()), HUMAN_IN, version="v2")

    model = "GenericFakeChatModel"
    assert summary(events) == [
        ("on_chain_start", "LangGraph", [], 0, ["input"]),
        ("on_chain_start", "call_model", ["graph:step:1"], 1, ["input"]),
        ("on_chat_model_start", model, ["seq:step:1"], 2, ["input"]),
        ("on_chat_model_stream", model, ["seq:step:1"], 2, ["chunk"]),
        ("on_chat_model_stream", model, ["seq:step:1"], 2, ["chunk"]),
        ("on_chat_model_stream", model, ["seq:step:1"], 2, ["chunk"]),
        ("on_chat_model_end", model, ["seq:step:1"], 2, ["output", "input"]),
        ("on_chain_stream", "call_model", ["graph:step:1"], 1, ["chunk"]),
        ("on_chain_end", "call_model", ["graph:step:1"], 1, ["output", "input"]),
        ("on_chain_stream", "LangGraph", [], 0, ["chunk"]),
        ("on_chain_end", "LangGraph", [], 0, ["output"]),
    ]
    for ev in events:
        assert_key_order(ev)


def test_chat_model_events_ids_metadata_and_data():
    events = events_of(_messages_graph(_hello_llm()), HUMAN_IN, version="v2")

    root, node, llm_run = events[0]["run_id"], events[1]["run_id"], events[2]["run_id"]
    assert is_uuid(llm_run)
    llm_events = events[2:7]
    assert all(ev["run_id"] == llm_run for ev in llm_events)
    assert all(ev["parent_ids"] == [root, node] for ev in llm_events)

    meta = events[2]["metadata"]
    assert list(meta) == LLM_META_KEYS
    assert meta["ls_integration"] == "langchain_chat_model"
    assert meta["langgraph_node"] == "call_model"
    assert meta["checkpoint_ns"] == meta["langgraph_checkpoint_ns"]
    assert meta["langgraph_checkpoint_ns"] == events[1]["metadata"]["langgraph_checkpoint_ns"]
    assert (meta["ls_provider"], meta["ls_model_type"]) == ("genericfakechatmodel", "chat")
    assert "langchain-core" in meta["lc_versions"]
    assert all(ev["metadata"] == meta for ev in llm_events)

    human = HUMAN_IN["messages"][0]
    assert events[2]["data"] == {"input": {"messages": [[human]]}}
    chunks = [ev["data"]["chunk"] for ev in events[3:6]]
    assert all(type(c) is AIMessageChunk for c in chunks)
    assert [c.content for c in chunks] == ["hello", " ", "world"]
    assert {c.id for c in chunks} == {f"lc_run--{llm_run}"}
    output = events[6]["data"]["output"]
    assert type(output) is AIMessage
    assert (output.content, output.id) == ("hello world", f"lc_run--{llm_run}")
    assert events[6]["data"]["input"] == {"messages": [[human]]}
    assert events[7]["data"] == {"chunk": {"messages": [output]}}
    assert events[7]["parent_ids"] == [root]
    assert events[9]["data"] == {"chunk": {"call_model": {"messages": [output]}}}
    assert events[10]["data"] == {"output": {"messages": [human, output]}}


def test_chat_model_run_name_and_tags():
    llm = _hello_llm().with_config(tags=["joke"], run_name="joke_llm")
    events = events_of(_messages_graph(llm, is_async=True), HUMAN_IN, version="v2")

    assert [(ev["event"], ev["name"], ev["tags"]) for ev in events[2:7]] == [
        ("on_chat_model_start", "joke_llm", ["seq:step:1", "joke"]),
        ("on_chat_model_stream", "joke_llm", ["seq:step:1", "joke"]),
        ("on_chat_model_stream", "joke_llm", ["seq:step:1", "joke"]),
        ("on_chat_model_stream", "joke_llm", ["seq:step:1", "joke"]),
        ("on_chat_model_end", "joke_llm", ["seq:step:1", "joke"]),
    ]
    assert len(events) == 11


def test_include_tags_filters_to_tagged_model():
    llm = _hello_llm().with_config(tags=["joke"], run_name="joke_llm")
    events = events_of(
        _messages_graph(llm, is_async=True), HUMAN_IN, version="v2", include_tags=["joke"]
    )

    assert summary(events) == [
        ("on_chat_model_start", "joke_llm", ["seq:step:1", "joke"], 2, ["input"]),
        ("on_chat_model_stream", "joke_llm", ["seq:step:1", "joke"], 2, ["chunk"]),
        ("on_chat_model_stream", "joke_llm", ["seq:step:1", "joke"], 2, ["chunk"]),
        ("on_chat_model_stream", "joke_llm", ["seq:step:1", "joke"], 2, ["chunk"]),
        ("on_chat_model_end", "joke_llm", ["seq:step:1", "joke"], 2, ["output"]),
    ]


# ---------------------------------------------------------------------------------------------
# Subgraph
# ---------------------------------------------------------------------------------------------


def _subgraph_parent() -> Any:
    sub = StateGraph(SState)
    sub.add_node("s1", lambda state: {"foo": state["foo"] + "|s1"})
    sub.add_edge(START, "s1")
    parent = StateGraph(SState)
    parent.add_node("sub", sub.compile())
    parent.add_edge(START, "sub")
    return parent.compile()


def test_subgraph_event_sequence():
    events = events_of(_subgraph_parent(), {"foo": "x"}, version="v2")

    assert summary(events) == [
        ("on_chain_start", "LangGraph", [], 0, ["input"]),
        ("on_chain_start", "sub", ["graph:step:1"], 1, ["input"]),
        ("on_chain_start", "LangGraph", ["seq:step:1"], 2, ["input"]),
        ("on_chain_start", "s1", ["graph:step:1"], 3, ["input"]),
        ("on_chain_stream", "s1", ["graph:step:1"], 3, ["chunk"]),
        ("on_chain_end", "s1", ["graph:step:1"], 3, ["output", "input"]),
        ("on_chain_end", "LangGraph", ["seq:step:1"], 2, ["output", "input"]),
        ("on_chain_stream", "sub", ["graph:step:1"], 1, ["chunk"]),
        ("on_chain_end", "sub", ["graph:step:1"], 1, ["output", "input"]),
        ("on_chain_stream", "LangGraph", [], 0, ["chunk"]),
        ("on_chain_end", "LangGraph", [], 0, ["output"]),
    ]
    for ev in events:
        assert_key_order(ev)


def test_subgraph_events_ids_and_metadata():
    events = events_of(_subgraph_parent(), {"foo": "x"}, version="v2")

    root, sub_node, inner_graph, s1 = (events[i]["run_id"] for i in (0, 1, 2, 3))
    assert len({root, sub_node, inner_graph, s1}) == 4
    assert events[2]["parent_ids"] == [root, sub_node]
    assert events[3]["parent_ids"] == [root, sub_node, inner_graph]
    assert events[6]["run_id"] == inner_graph

    sub_meta = events[1]["metadata"]
    assert list(sub_meta) == NODE_META_KEYS
    sub_ns = sub_meta["langgraph_checkpoint_ns"]
    assert re.fullmatch(rf"sub:{UUID}", sub_ns)
    # The nested graph run carries the node metadata plus checkpoint_ns.
    assert events[2]["metadata"] == {**sub_meta, "checkpoint_ns": sub_ns}
    assert list(events[2]["metadata"]) == [*NODE_META_KEYS, "checkpoint_ns"]
    inner = events[3]["metadata"]
    assert list(inner) == [*NODE_META_KEYS, "checkpoint_ns"]
    assert {k: v for k, v in inner.items() if not k.endswith("checkpoint_ns")} == node_meta(1, "s1")
    assert re.fullmatch(rf"{re.escape(sub_ns)}\|s1:{UUID}", inner["langgraph_checkpoint_ns"])
    assert inner["checkpoint_ns"] == sub_ns

    assert events[6]["data"] == {"output": {"foo": "x|s1"}, "input": {"foo": "x"}}
    assert events[7]["data"] == {"chunk": {"foo": "x|s1"}}
    assert events[9]["data"] == {"chunk": {"sub": {"foo": "x|s1"}}}
    assert events[10]["data"] == {"output": {"foo": "x|s1"}}


# ---------------------------------------------------------------------------------------------
# Custom events
# ---------------------------------------------------------------------------------------------


def _writer_graph() -> Any:
    async def writer_node(state: SState) -> dict[str, Any]:
        get_stream_writer()({"custom": 1})
        await adispatch_custom_event("my_event", {"payload": 2})
        return {"foo": "w"}

    builder = StateGraph(SState)
    builder.add_node("writer_node", writer_node)
    builder.add_edge(START, "writer_node")
    return builder.compile()


def test_custom_event_from_adispatch():
    events = events_of(_writer_graph(), {"foo": "x"}, version="v2")

    assert summary(events) == [
        ("on_chain_start", "LangGraph", [], 0, ["input"]),
        ("on_chain_start", "writer_node", ["graph:step:1"], 1, ["input"]),
        ("on_custom_event", "my_event", ["seq:step:1"], 1, ["payload"]),
        ("on_chain_stream", "writer_node", ["graph:step:1"], 1, ["chunk"]),
        ("on_chain_end", "writer_node", ["graph:step:1"], 1, ["output", "input"]),
        ("on_chain_stream", "LangGraph", [], 0, ["chunk"]),
        ("on_chain_end", "LangGraph", [], 0, ["output"]),
    ]
    custom = events[2]
    assert list(custom) == STREAM_KEYS
    assert custom["data"] == {"payload": 2}
    # Run id of the node, parent is the root.
    assert custom["run_id"] == events[1]["run_id"]
    assert custom["parent_ids"] == [events[0]["run_id"]]
    node_metadata = events[1]["metadata"]
    assert custom["metadata"] == {
        **node_metadata,
        "checkpoint_ns": node_metadata["langgraph_checkpoint_ns"],
    }
    assert list(custom["metadata"]) == [*NODE_META_KEYS, "checkpoint_ns"]
    # get_stream_writer() output does not appear without stream_mode="custom".
    assert {"custom": 1} not in [ev["data"].get("chunk") for ev in events]


def test_custom_event_from_sync_dispatch():
    def sync_writer(state: SState) -> dict[str, Any]:
        dispatch_custom_event("sync_event", {"p": 3})
        return {"foo": "s"}

    builder = StateGraph(SState)
    builder.add_node("sync_writer", sync_writer)
    builder.add_edge(START, "sync_writer")
    events = events_of(builder.compile(), {"foo": "x"}, version="v2")

    assert [(ev["event"], ev["name"]) for ev in events][1:4] == [
        ("on_chain_start", "sync_writer"),
        ("on_custom_event", "sync_event"),
        ("on_chain_stream", "sync_writer"),
    ]
    assert events[2]["data"] == {"p": 3}
    assert events[2]["tags"] == ["seq:step:1"]


def test_stream_writer_becomes_root_stream_chunk_with_custom_mode():
    events = events_of(_writer_graph(), {"foo": "x"}, version="v2", stream_mode="custom")

    assert [(ev["event"], ev["name"]) for ev in events] == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "writer_node"),
        ("on_custom_event", "my_event"),
        ("on_chain_stream", "writer_node"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "writer_node"),
        ("on_chain_end", "LangGraph"),
    ]
    assert events[4]["data"] == {"chunk": {"custom": 1}}
    assert events[4]["parent_ids"] == []
