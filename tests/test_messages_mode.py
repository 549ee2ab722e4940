"""``add_messages``, ``MessagesState`` and the ``messages`` / ``tools`` stream modes.

The golden tests (tests/golden/test_s04_messages.py, test_s10_tools_mode.py) pin the
reference's observed output; these cover the reducer and the engine hooks around the modes:
metadata built from the task config, handler attachment and inheritance, seen-id tracking
across subgraphs, node return shapes, and the lazy LangChain import.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManager
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from pydantic import BaseModel

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import START, StateGraph
from relaygraph.graph.message import REMOVE_ALL_MESSAGES, MessagesState, add_messages
from relaygraph.types import Command, Send

relaygraph_only = pytest.mark.skipif(
    os.environ.get("RELAYGRAPH_REFERENCE") == "1", reason="checks relaygraph's own internals"
)

HI = {"messages": [HumanMessage("hi", id="h1")]}


def model(text: str, msg_id: str | None = None) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=text, id=msg_id)]))


def single(fn: Any, name: str = "n", schema: Any = MessagesState, **compile_kw: Any) -> Any:
    builder = StateGraph(schema)
    builder.add_node(name, fn)
    builder.add_edge(START, name)
    return builder.compile(**compile_kw)


def calls(llm: Any) -> Any:
    def n(state: Any) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    return n


# == add_messages =============================================================================


def test_add_messages_appends_and_assigns_ids_in_place() -> None:
    human = HumanMessage("a")
    ai = AIMessage("b")
    merged = add_messages([human], ai)
    assert merged == [human, ai]
    assert merged[0] is human and merged[1] is ai
    assert human.id and ai.id and human.id != ai.id


def test_add_messages_replaces_by_id_in_position() -> None:
    left = [HumanMessage("a", id="1"), AIMessage("b", id="2")]
    merged = add_messages(left, [AIMessage("B", id="2"), HumanMessage("A", id="1")])
    assert [(m.content, m.id) for m in merged] == [("A", "1"), ("B", "2")]
    assert [m.content for m in left] == ["a", "b"]  # the left list is not changed


def test_add_messages_coerces_message_likes() -> None:
    merged = add_messages(
        "first",
        [
            ("assistant", "tuple"),
            {"role": "system", "content": "dict", "id": "d1"},
            AIMessageChunk("chunk", id="c1"),
        ],
    )
    assert [type(m) for m in merged] == [HumanMessage, AIMessage, SystemMessage, AIMessage]
    assert [m.content for m in merged] == ["first", "tuple", "dict", "chunk"]
    assert merged[2].id == "d1" and merged[3].id == "c1"
    assert all(m.id for m in merged)


def test_add_messages_remove_message() -> None:
    left = [HumanMessage("a", id="1"), AIMessage("b", id="2"), AIMessage("c", id="3")]
    assert [m.id for m in add_messages(left, RemoveMessage(id="2"))] == ["1", "3"]
    # removed then re-added in the same update: kept, at its old place
    merged = add_messages(left, [RemoveMessage(id="1"), HumanMessage("A", id="1")])
    assert [(m.id, m.content) for m in merged] == [("1", "A"), ("2", "b"), ("3", "c")]


def test_add_messages_remove_missing_id_raises() -> None:
    with pytest.raises(ValueError, match="nope"):
        add_messages([HumanMessage("a", id="1")], [RemoveMessage(id="nope")])


def test_add_messages_remove_all() -> None:
    left = [HumanMessage("a", id="1")]
    merged = add_messages(
        left, [AIMessage("x", id="x"), RemoveMessage(id=REMOVE_ALL_MESSAGES), "y"]
    )
    assert [m.content for m in merged] == ["y"]
    assert REMOVE_ALL_MESSAGES == "__remove_all__"


def test_add_messages_argument_rules_and_format() -> None:
    with pytest.raises(ValueError):
        add_messages([HumanMessage("a")], None)
    with pytest.raises(ValueError):
        add_messages(None, [HumanMessage("a")])
    reducer = add_messages(format="langchain-openai")
    merged = reducer([HumanMessage("a", id="1")], [AIMessage("b", id="2")])
    assert [(type(m), m.content) for m in merged] == [(HumanMessage, "a"), (AIMessage, "b")]
    with pytest.raises(ValueError, match="format"):
        add_messages([HumanMessage("a")], [HumanMessage("b")], format="bogus")  # type: ignore[arg-type]


def test_messages_state_and_reducer_in_a_graph(runner) -> None:
    class OpenAIState(TypedDict):
        messages: Annotated[list, add_messages(format="langchain-openai")]

    def reply(state: Any) -> dict[str, Any]:
        return {"messages": [("assistant", "hello"), RemoveMessage(id="h1")]}

    out = runner.invoke(single(reply), HI)
    assert [(type(m), m.content) for m in out["messages"]] == [(AIMessage, "hello")]
    out = runner.invoke(single(lambda s: {"messages": "x"}, schema=OpenAIState), HI)
    assert [m.content for m in out["messages"]] == ["hi", "x"]


@relaygraph_only
def test_importing_relaygraph_graph_does_not_load_langchain() -> None:
    code = (
        "import sys, relaygraph.graph\n"
        "print(any(m == 'langchain_core' or m.startswith('langchain_core.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# == messages mode: tokens and metadata =======================================================


def test_task_config_metadata_order_and_node_metadata(runner) -> None:
    seen: list[list[str]] = []

    def n(state: Any, config: RunnableConfig) -> dict[str, Any]:
        seen.append(list(config["metadata"]))
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("n", n, metadata={"node_meta": 1})
    builder.add_edge(START, "n")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}, "metadata": {"user_meta": 1}}
    runner.invoke(graph, HI, config)
    assert seen == [
        [
            "user_meta",
            "thread_id",
            "langgraph_step",
            "langgraph_node",
            "langgraph_triggers",
            "langgraph_path",
            "langgraph_checkpoint_ns",
            "node_meta",
        ]
    ]


def test_token_metadata_includes_node_metadata_and_is_shared_per_call(runner) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("n", calls(model("a b")), metadata={"node_meta": 1})
    builder.add_edge(START, "n")
    chunks = runner.stream(builder.compile(), HI, stream_mode="messages")
    assert [m.content for m, _ in chunks] == ["a", " ", "b"]
    meta = chunks[0][1]
    assert all(m is meta for _, m in chunks)
    assert list(meta)[:7] == [
        "ls_integration",
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
        "node_meta",
    ]
    assert meta["checkpoint_ns"] == meta["langgraph_checkpoint_ns"]


def test_explicit_model_config_keeps_task_metadata(runner) -> None:
    llm = model("a b")

    def n(state: Any) -> dict[str, Any]:
        reply = llm.invoke(state["messages"], config={"metadata": {"mine": 1}, "tags": ["t1"]})
        return {"messages": [reply]}

    chunks = runner.stream(single(n), HI, {"tags": ["rt"]}, stream_mode="messages")
    meta = chunks[0][1]
    assert meta["langgraph_node"] == "n" and meta["mine"] == 1
    assert meta["tags"] == ["rt", "t1"]


def test_model_in_a_chain_and_batch_inside_a_node(runner) -> None:
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model("c d")
    batched = model("e f")

    def n(state: Any) -> dict[str, Any]:
        first = chain.invoke({"q": "x"})
        more = batched.batch([state["messages"], state["messages"]])
        return {"messages": [first, *more]}

    chunks = runner.stream(single(n), HI, stream_mode="messages")
    contents = [m.content for m, _ in chunks]
    assert contents[:3] == ["c", " ", "d"]
    assert sorted(contents[3:]) == sorted(["e", " ", "f"] * 2)
    assert len({m.id for m, _ in chunks}) == 3  # one id per model call, nothing re-emitted


def test_non_streaming_model_with_nostream_emits_once_at_node_end(runner) -> None:
    quiet = FakeMessagesListChatModel(responses=[AIMessage("r", id="r1")]).with_config(
        tags=["nostream"]
    )
    chunks = runner.stream(single(calls(quiet)), HI, stream_mode="messages")
    assert [(m.id, meta["ls_integration"]) for m, meta in chunks] == [("r1", "langgraph")]


def test_model_error_stops_tokens_and_raises(runner) -> None:
    class Failing(GenericFakeChatModel):
        def _stream(self, *args: Any, **kwargs: Any) -> Any:
            yield from super()._stream(*args, **kwargs)
            raise ValueError("boom")

    llm = Failing(messages=itertools.cycle([AIMessage("x y")]))
    chunks, exc = runner.stream_until_error(single(calls(llm)), HI, stream_mode="messages")
    assert [m.content for m, _ in chunks] == ["x", " ", "y"]
    assert isinstance(exc, ValueError)


def test_parallel_tasks_stream_with_their_own_metadata(runner) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("a", calls(model("a1 a2")))
    builder.add_node("b", calls(model("b1 b2")))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    chunks = runner.stream(builder.compile(), HI, stream_mode="messages")
    by_node: dict[str, list[str]] = {}
    for msg, meta in chunks:
        by_node.setdefault(meta["langgraph_node"], []).append(msg.content)
        assert meta["langgraph_checkpoint_ns"].startswith(meta["langgraph_node"] + ":")
    assert by_node == {"a": ["a1", " ", "a2"], "b": ["b1", " ", "b2"]}


def test_no_handler_when_neither_mode_is_wanted(runner) -> None:
    got: list[Any] = []

    def n(state: Any, config: RunnableConfig) -> dict[str, Any]:
        got.append(config.get("callbacks"))
        return {}

    runner.stream(single(n), HI, stream_mode="updates")
    assert [getattr(cb, "handlers", None) or None for cb in got] == [None]


def test_user_callbacks_are_kept_and_called(runner) -> None:
    class Count(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens = 0

        def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
            self.tokens += 1

    for make in (lambda h: [h], lambda h: CallbackManager(handlers=[h], inheritable_handlers=[h])):
        counter = Count()
        graph = single(calls(model("a b c")))
        chunks = runner.stream(graph, HI, {"callbacks": make(counter)}, stream_mode="messages")
        assert [m.content for m, _ in chunks] == ["a", " ", "b", " ", "c"]
        assert counter.tokens == 5


# == messages mode: node return values ========================================================


def test_returned_messages_in_every_shape(runner) -> None:
    class Extra(TypedDict):
        messages: Annotated[list, add_messages]
        other: Any

    def n(state: Any) -> Any:
        return [
            Command(update={"messages": AIMessage("t", id="t1")}),
            {"other": (AIMessage("o", id="o1"), "not a message")},
        ]

    chunks = runner.stream(single(n, schema=Extra), HI, stream_mode="messages")
    assert [m.id for m, _ in chunks] == ["t1", "o1"]
    assert chunks[0][1] is chunks[1][1]  # one metadata dict per task


def test_returned_messages_from_dataclass_and_pydantic_states(runner) -> None:
    @dataclasses.dataclass
    class DC:
        messages: Annotated[list, add_messages] = dataclasses.field(default_factory=list)

    class PM(BaseModel):
        messages: Annotated[list, add_messages] = []

    for schema in (DC, PM):

        def n(state: Any) -> dict[str, Any]:
            # the input message (read from the state object) counts as seen
            return {"messages": [state.messages[0], AIMessage("new", id="new")]}

        chunks = runner.stream(single(n, schema=schema), HI, stream_mode="messages")
        assert [m.id for m, _ in chunks] == ["new"]


def test_strings_and_non_messages_are_ignored(runner) -> None:
    chunks = runner.stream(
        single(lambda s: {"messages": ["plain", {"role": "user", "content": "dict"}]}),
        HI,
        stream_mode="messages",
    )
    assert chunks == []


def test_second_turn_does_not_reemit_history(runner) -> None:
    def n(state: Any) -> dict[str, Any]:
        return {"messages": [*state["messages"], AIMessage("reply")]}

    graph = single(n, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "turns"}}
    first = runner.stream(graph, HI, config, stream_mode="messages")
    second = runner.stream(
        graph, {"messages": [HumanMessage("again", id="h2")]}, config, stream_mode="messages"
    )
    assert [m.content for m, _ in first] == ["reply"]
    assert [m.content for m, _ in second] == ["reply"]
    assert first[0][0].id != second[0][0].id
    assert second[0][1]["thread_id"] == "turns"


def test_send_tasks_emit_their_returned_messages(runner) -> None:
    def fan(state: Any) -> list[Send]:
        return [Send("w", {"messages": [HumanMessage(f"s{i}", id=f"s{i}")]}) for i in range(2)]

    def w(state: Any) -> dict[str, Any]:
        first = state["messages"][0]
        return {"messages": [first, AIMessage("re " + first.content, id="w" + first.id)]}

    builder = StateGraph(MessagesState)
    builder.add_node("w", w)
    builder.add_conditional_edges(START, fan, ["w"])
    chunks = runner.stream(builder.compile(), HI, stream_mode="messages")
    assert sorted(m.id for m, _ in chunks) == ["ws0", "ws1"]
    assert {meta["langgraph_triggers"] for _, meta in chunks} == {("__pregel_push",)}


# == subgraphs ================================================================================


def _nested(llm: Any) -> Any:
    inner = single(calls(llm), name="leaf")
    mid = single(inner, name="mid")
    return single(mid, name="top")


def test_nested_subgraph_tokens_with_and_without_subgraphs(runner) -> None:
    graph = _nested(model("deep tok"))
    shown = runner.stream(graph, HI, stream_mode="messages", subgraphs=True)
    assert [m.content for _, (m, _) in shown] == ["deep", " ", "tok"]
    ns, (_, meta) = shown[0]
    assert [e.split(":")[0] for e in ns] == ["top", "mid"]
    assert meta["langgraph_node"] == "leaf"
    assert meta["langgraph_checkpoint_ns"].startswith("|".join(ns) + "|leaf:")
    assert meta["checkpoint_ns"] == ns[0]

    hidden = runner.stream(graph, HI, stream_mode="messages")
    assert [(type(m), m.content) for m, _ in hidden] == [(AIMessage, "deep tok")]
    assert hidden[0][1]["langgraph_node"] == "top"
    assert hidden[0][1]["ls_integration"] == "langgraph"


def test_subgraph_node_metadata_carries_outer_checkpoint_ns(runner) -> None:
    inner = single(lambda s: {"messages": [AIMessage("x", id="x")]}, name="inner")
    chunks = runner.stream(single(inner, name="outer"), HI, stream_mode="messages", subgraphs=True)
    (ns, (msg, meta)) = chunks[0]
    assert msg.id == "x"
    assert list(meta)[-2:] == ["langgraph_checkpoint_ns", "checkpoint_ns"]
    assert meta["checkpoint_ns"] == ns[0]


@relaygraph_only
def test_subgraph_gets_one_handler_not_its_parents(runner) -> None:
    handlers: list[list[str]] = []

    def leaf(state: Any, config: RunnableConfig) -> dict[str, Any]:
        cbs = config["callbacks"]
        handlers.append([type(h).__name__ for h in cbs.handlers])
        return {}

    graph = single(single(leaf, name="leaf"), name="sub")
    runner.stream(graph, HI, stream_mode=["messages", "tools"], subgraphs=True)
    assert handlers == [["_MessagesHandler", "_ToolsHandler"]]


# == tools mode ===============================================================================


@tool
def double(x: int) -> int:
    """Double x."""
    return 2 * x


def test_tools_mode_alone_and_with_messages(runner) -> None:
    def n(state: Any) -> dict[str, Any]:
        raw = double.invoke({"x": 2})
        msg = double.invoke({"name": "double", "args": {"x": 3}, "id": "c1", "type": "tool_call"})
        return {"messages": [AIMessage(str(raw), id="a1"), msg]}

    events = runner.stream(single(n), HI, stream_mode="tools")
    assert [e["event"] for e in events] == ["tool-started", "tool-finished"] * 2
    assert events[1]["output"] == 4
    assert events[3]["tool_call_id"] == "c1" and isinstance(events[3]["output"], ToolMessage)

    both = runner.stream(single(n), HI, stream_mode=["tools", "messages"])
    assert [mode for mode, _ in both] == ["tools"] * 4 + ["messages"] * 2
    assert next(p[0].id for mode, p in both if mode == "messages") == "a1"


def test_tools_mode_does_not_report_model_tokens(runner) -> None:
    chunks = runner.stream(single(calls(model("a b"))), HI, stream_mode="tools")
    assert chunks == []
