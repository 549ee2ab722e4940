"""Scenario s04: ``stream_mode="messages"`` with langchain-core's fake chat models.

Pins down (STREAMING.md §5): token chunks from streaming chat models, the single message of a
non-streaming model, messages found in a node's return value, message ids, the exact metadata
dict (keys and their order), tags / ``nostream``, subgraphs and Send tasks.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import START, StateGraph, add_messages
from relaygraph.types import Command, Send
from tests.helpers import canon

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
RUN_ID = re.compile(rf"lc_run--{UUID}")

# Metadata keys of a chat-model token, in the observed order (root graph, no checkpointer).
LLM_KEYS = [
    "ls_integration",
    "langgraph_step",
    "langgraph_node",
    "langgraph_triggers",
    "langgraph_path",
    "langgraph_checkpoint_ns",
    "checkpoint_ns",
    "ls_provider",
    "ls_model_type",
    "lc_versions",
]
# Metadata keys of a message found in a node's return value.
NODE_KEYS = [
    "ls_integration",
    "langgraph_step",
    "langgraph_node",
    "langgraph_triggers",
    "langgraph_path",
    "langgraph_checkpoint_ns",
]


class MState(TypedDict):
    messages: Annotated[list, add_messages]


class PlainState(TypedDict):
    topic: str
    joke: str


def human() -> dict[str, Any]:
    return {"messages": [HumanMessage(content="hi", id="human-1")]}


def generic(text: str, msg_id: str | None = None) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=text, id=msg_id)]))


def single_node(fn: Any, name: str = "call_model", checkpointer: Any = None) -> Any:
    builder = StateGraph(MState)
    builder.add_node(name, fn)
    builder.add_edge(START, name)
    return builder.compile(checkpointer=checkpointer)


def llm_node(llm: Any) -> Any:
    def call_model(state: MState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    return call_model


def contents(chunks: list[Any]) -> list[Any]:
    return [msg.content for msg, _ in chunks]


def assert_uuid(value: str) -> None:
    assert re.fullmatch(UUID, value), value


HELLO_TOKENS = ["hello", " ", "world", " ", "from", " ", "model"]


# ---------------------------------------------------------------------------------------------
# Token chunks from a streaming model
# ---------------------------------------------------------------------------------------------


def test_generic_model_invoke_streams_whitespace_split_tokens(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert contents(chunks) == HELLO_TOKENS
    for item in chunks:
        assert type(item) is tuple and len(item) == 2
        msg, meta = item
        assert type(msg) is AIMessageChunk
        assert type(meta) is dict


def test_token_chunks_share_one_lc_run_id(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    ids = {msg.id for msg, _ in chunks}
    assert len(ids) == 1
    assert RUN_ID.fullmatch(ids.pop())


def test_only_the_last_token_has_chunk_position_last(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    positions = [msg.chunk_position for msg, _ in chunks]
    assert positions == [None] * 6 + ["last"]


def test_token_metadata_exact_keys_order_and_values(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    for _, meta in chunks:
        assert list(meta) == LLM_KEYS
        ns = meta["langgraph_checkpoint_ns"]
        assert ns.startswith("call_model:")
        assert_uuid(ns.split(":", 1)[1])
        assert meta["checkpoint_ns"] == ns
        expected = {
            "ls_integration": "langchain_chat_model",
            "langgraph_step": 1,
            "langgraph_node": "call_model",
            "langgraph_triggers": ("branch:to:call_model",),
            "langgraph_path": ("__pregel_pull", "call_model"),
            "langgraph_checkpoint_ns": ns,
            "checkpoint_ns": ns,
            "ls_provider": "genericfakechatmodel",
            "ls_model_type": "chat",
        }
        assert {k: v for k, v in meta.items() if k != "lc_versions"} == expected
        assert type(meta["langgraph_triggers"]) is tuple
        assert type(meta["langgraph_path"]) is tuple
        assert isinstance(meta["lc_versions"], dict)
        assert "langchain-core" in meta["lc_versions"]


def test_token_metadata_namespace_is_the_task_id(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode=["tasks", "messages"])

    task_ids = {c["id"] for mode, c in chunks if mode == "tasks"}
    assert len(task_ids) == 1
    (tid,) = task_ids
    metas = [c[1] for mode, c in chunks if mode == "messages"]
    assert len(metas) == 7
    assert {m["langgraph_checkpoint_ns"] for m in metas} == {f"call_model:{tid}"}


def test_metadata_is_one_shared_dict_per_llm_call(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert len(chunks) == 7
    assert len({id(meta) for _, meta in chunks}) == 1


def test_messages_with_updates_mode_list(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode=["messages", "updates"])

    assert [mode for mode, _ in chunks] == ["messages"] * 7 + ["updates"]
    token_id = chunks[0][1][0].id
    assert all(payload[0].id == token_id for mode, payload in chunks[:7])
    update = chunks[-1][1]
    assert list(update) == ["call_model"]
    (final,) = update["call_model"]["messages"]
    assert type(final) is AIMessage
    assert final.content == "hello world from model"
    # The final message has the same id as its chunks, so it is not emitted again.
    assert final.id == token_id


def test_messages_subgraphs_true_at_root_has_empty_namespace(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages", subgraphs=True)

    assert [ns for ns, _ in chunks] == [()] * 7
    assert [payload[0].content for _, payload in chunks] == HELLO_TOKENS
    assert all(type(payload) is tuple and len(payload) == 2 for _, payload in chunks)


def test_messages_version_v2_parts(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages", version="v2")

    assert len(chunks) == 7
    for part in chunks:
        assert list(part) == ["type", "ns", "data"]
        assert part["type"] == "messages"
        assert part["ns"] == ()
        msg, meta = part["data"]
        assert type(msg) is AIMessageChunk
        assert list(meta) == LLM_KEYS
    assert [p["data"][0].content for p in chunks] == HELLO_TOKENS


def test_model_supplied_id_is_kept_on_chunks(runner):
    graph = single_node(llm_node(generic("with explicit id", msg_id="ai-fixed-id")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert contents(chunks) == ["with", " ", "explicit", " ", "id"]
    assert [msg.id for msg, _ in chunks] == ["ai-fixed-id"] * 5


def test_two_llm_calls_in_one_node_have_distinct_ids(runner):
    first, second = generic("first call"), generic("second call")

    def two_calls(state: MState) -> dict[str, Any]:
        r1 = first.invoke(state["messages"])
        r2 = second.invoke(state["messages"])
        return {"messages": [r1, r2]}

    chunks = runner.stream(single_node(two_calls), human(), stream_mode="messages")

    assert contents(chunks) == ["first", " ", "call", "second", " ", "call"]
    ids = [msg.id for msg, _ in chunks]
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] == ids[4] == ids[5]
    assert ids[0] != ids[3]
    assert all(RUN_ID.fullmatch(i) for i in ids)
    assert {meta["langgraph_node"] for _, meta in chunks} == {"call_model"}
    # Each call has its own metadata dict, shared by its chunks.
    assert len({id(meta) for _, meta in chunks}) == 2


def test_fake_list_chat_model_streams_one_chunk_per_character(runner):
    graph = single_node(llm_node(FakeListChatModel(responses=["abc"])))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert contents(chunks) == ["a", "b", "c"]
    assert all(type(msg) is AIMessageChunk for msg, _ in chunks)
    assert [msg.chunk_position for msg, _ in chunks] == [None, None, "last"]
    assert len({msg.id for msg, _ in chunks}) == 1
    assert chunks[0][1]["ls_provider"] == "fakelistchatmodel"
    assert list(chunks[0][1]) == LLM_KEYS


def test_model_stream_inside_node_returning_same_id_emits_only_tokens(runner):
    flm = FakeListChatModel(responses=["abc"])

    def call_stream(state: MState) -> dict[str, Any]:
        parts = list(flm.stream(state["messages"]))
        full = parts[0]
        for part in parts[1:]:
            full = full + part
        return {"messages": [AIMessage(content=full.content, id=full.id)]}

    chunks = runner.stream(single_node(call_stream), human(), stream_mode=["messages", "updates"])

    assert [mode for mode, _ in chunks] == ["messages"] * 3 + ["updates"]
    assert [payload[0].content for mode, payload in chunks[:3]] == ["a", "b", "c"]
    (final,) = chunks[3][1]["call_model"]["messages"]
    assert final.content == "abc"
    assert final.id == chunks[0][1][0].id


def test_llm_called_with_a_string_prompt_in_plain_state(runner):
    llm = generic("why did the cat")

    def plain_node(state: PlainState) -> dict[str, Any]:
        return {"joke": llm.invoke(f"tell a joke about {state['topic']}").content}

    builder = StateGraph(PlainState)
    builder.add_node("plain_node", plain_node)
    builder.add_edge(START, "plain_node")
    chunks = runner.stream(builder.compile(), {"topic": "ice cream"}, stream_mode="messages")

    assert contents(chunks) == ["why", " ", "did", " ", "the", " ", "cat"]
    assert {meta["langgraph_node"] for _, meta in chunks} == {"plain_node"}
    assert all(list(meta) == LLM_KEYS for _, meta in chunks)


# ---------------------------------------------------------------------------------------------
# Non-streaming chat model
# ---------------------------------------------------------------------------------------------


def test_non_streaming_model_yields_one_whole_ai_message(runner):
    fml = FakeMessagesListChatModel(responses=[AIMessage(content="non-streaming reply", id="ns-1")])
    chunks = runner.stream(single_node(llm_node(fml)), human(), stream_mode="messages")

    assert len(chunks) == 1
    msg, meta = chunks[0]
    assert type(msg) is AIMessage
    assert msg.content == "non-streaming reply"
    assert msg.id == "ns-1"
    assert list(meta) == LLM_KEYS
    assert meta["ls_integration"] == "langchain_chat_model"
    assert meta["ls_provider"] == "fakemessageslistchatmodel"
    assert meta["ls_model_type"] == "chat"
    assert meta["langgraph_node"] == "call_model"


# ---------------------------------------------------------------------------------------------
# Config metadata, checkpointer, tags
# ---------------------------------------------------------------------------------------------


def test_checkpointer_puts_thread_id_first(runner):
    graph = single_node(llm_node(generic("hello world from model")), checkpointer=InMemorySaver())
    chunks = runner.stream(
        graph, human(), {"configurable": {"thread_id": "m1"}}, stream_mode="messages"
    )

    assert contents(chunks) == HELLO_TOKENS
    for _, meta in chunks:
        assert list(meta) == ["thread_id", *LLM_KEYS]
        assert meta["thread_id"] == "m1"
        assert meta["langgraph_step"] == 1


def test_run_config_metadata_first_and_tags_last(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    config = {"tags": ["run-tag"], "metadata": {"user_meta": 1}, "run_name": "my_run"}
    chunks = runner.stream(graph, human(), config, stream_mode="messages")

    assert contents(chunks) == HELLO_TOKENS
    for _, meta in chunks:
        assert list(meta) == ["user_meta", *LLM_KEYS, "tags"]
        assert meta["user_meta"] == 1
        assert meta["tags"] == ["run-tag"]
        assert "my_run" not in repr(meta)


def test_metadata_order_with_run_metadata_checkpointer_and_model_config(runner):
    llm = generic("hello world").with_config(tags=["joke"], metadata={"kind": "poem"})
    graph = single_node(llm_node(llm), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}, "tags": ["run-tag"], "metadata": {"user_meta": 1}}
    chunks = runner.stream(graph, human(), config, stream_mode="messages")

    assert contents(chunks) == ["hello", " ", "world"]
    meta = chunks[0][1]
    assert list(meta) == [
        "user_meta",
        "thread_id",
        "ls_integration",
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
        "kind",
        "checkpoint_ns",
        "ls_provider",
        "ls_model_type",
        "lc_versions",
        "tags",
    ]
    assert meta["kind"] == "poem"
    assert meta["tags"] == ["run-tag", "joke"]


def _two_tagged_llms_graph() -> Any:
    joke_llm = generic("joke tokens").with_config(tags=["joke"])
    poem_llm = generic("poem tokens").with_config(tags=["poem"], metadata={"kind": "poem"})

    def writer_node(state: MState) -> dict[str, Any]:
        j = joke_llm.invoke(state["messages"])
        p = poem_llm.invoke(state["messages"])
        return {"messages": [j, p]}

    return single_node(writer_node, name="writer_node")


def test_model_tags_and_metadata_appear_in_token_metadata(runner):
    chunks = runner.stream(_two_tagged_llms_graph(), human(), stream_mode="messages")

    summary = [(msg.content, meta.get("tags"), meta.get("kind")) for msg, meta in chunks]
    assert summary == [
        ("joke", ["joke"], None),
        (" ", ["joke"], None),
        ("tokens", ["joke"], None),
        ("poem", ["poem"], "poem"),
        (" ", ["poem"], "poem"),
        ("tokens", ["poem"], "poem"),
    ]
    assert list(chunks[0][1]) == [*LLM_KEYS, "tags"]
    poem_keys = list(chunks[3][1])
    assert poem_keys == [*LLM_KEYS[:6], "kind", *LLM_KEYS[6:], "tags"]
    assert {meta["langgraph_node"] for _, meta in chunks} == {"writer_node"}
    # Internal tags never leak into metadata.
    assert all(not any(t.startswith("seq:") for t in meta["tags"]) for _, meta in chunks)


def test_filtering_by_tags(runner):
    chunks = runner.stream(_two_tagged_llms_graph(), human(), stream_mode="messages")

    jokes = [msg.content for msg, meta in chunks if "joke" in (meta.get("tags") or [])]
    assert jokes == ["joke", " ", "tokens"]


def test_no_tags_key_without_user_tags(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert all("tags" not in meta for _, meta in chunks)


def test_nostream_tag_suppresses_tokens_but_emits_final_message(runner):
    quiet = generic("should not stream").with_config(tags=["nostream"])
    graph = single_node(llm_node(quiet))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert len(chunks) == 1
    msg, meta = chunks[0]
    assert type(msg) is AIMessage
    assert msg.content == "should not stream"
    assert RUN_ID.fullmatch(msg.id)
    assert list(meta) == NODE_KEYS
    assert meta["ls_integration"] == "langgraph"
    assert meta["langgraph_node"] == "call_model"


def test_nostream_final_message_comes_before_updates(runner):
    quiet = generic("should not stream").with_config(tags=["nostream"])
    chunks = runner.stream(
        single_node(llm_node(quiet)), human(), stream_mode=["messages", "updates"]
    )

    final = AIMessage(content="should not stream", id="lc_run--<uuid-1>")
    assert canon(chunks) == canon(
        [
            (
                "messages",
                (
                    final,
                    {
                        "ls_integration": "langgraph",
                        "langgraph_step": 1,
                        "langgraph_node": "call_model",
                        "langgraph_triggers": ("branch:to:call_model",),
                        "langgraph_path": ("__pregel_pull", "call_model"),
                        "langgraph_checkpoint_ns": "call_model:<uuid-2>",
                    },
                ),
            ),
            ("updates", {"call_model": {"messages": [final]}}),
        ]
    )


def test_filtering_by_langgraph_node(runner):
    llm_a, llm_b = generic("from node a"), generic("from node b")
    builder = StateGraph(MState)
    builder.add_node("node_a", llm_node(llm_a))
    builder.add_node("node_b", llm_node(llm_b))
    builder.add_edge(START, "node_a")
    builder.add_edge("node_a", "node_b")
    chunks = runner.stream(builder.compile(), human(), stream_mode="messages")

    assert [
        (msg.content, meta["langgraph_node"], meta["langgraph_step"]) for msg, meta in chunks
    ] == [
        ("from", "node_a", 1),
        (" ", "node_a", 1),
        ("node", "node_a", 1),
        (" ", "node_a", 1),
        ("a", "node_a", 1),
        ("from", "node_b", 2),
        (" ", "node_b", 2),
        ("node", "node_b", 2),
        (" ", "node_b", 2),
        ("b", "node_b", 2),
    ]
    assert [m.content for m, meta in chunks if meta["langgraph_node"] == "node_b"] == [
        "from",
        " ",
        "node",
        " ",
        "b",
    ]
    assert chunks[5][1]["langgraph_triggers"] == ("branch:to:node_b",)
    assert chunks[0][0].id != chunks[5][0].id


def test_messages_not_requested_means_no_messages(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="updates")

    assert len(chunks) == 1
    assert list(chunks[0]) == ["call_model"]


# ---------------------------------------------------------------------------------------------
# Messages found in a node's return value (no LLM)
# ---------------------------------------------------------------------------------------------


def _run_return(runner: Any, name: str, fn: Any) -> list[Any]:
    return runner.stream(single_node(fn, name=name), human(), stream_mode=["messages", "updates"])


def _assert_node_meta(meta: dict[str, Any], name: str) -> None:
    assert list(meta) == NODE_KEYS
    ns = meta["langgraph_checkpoint_ns"]
    assert ns.startswith(f"{name}:")
    assert_uuid(ns.split(":", 1)[1])
    assert {k: v for k, v in meta.items() if k != "langgraph_checkpoint_ns"} == {
        "ls_integration": "langgraph",
        "langgraph_step": 1,
        "langgraph_node": name,
        "langgraph_triggers": (f"branch:to:{name}",),
        "langgraph_path": ("__pregel_pull", name),
    }


@pytest.mark.parametrize(
    ("msg_factory", "expected_type", "expected_id"),
    [
        (
            lambda: AIMessage(content="I was returned directly", id="direct-ai"),
            AIMessage,
            "direct-ai",
        ),
        (
            lambda: HumanMessage(content="a human msg from a node", id="direct-human"),
            HumanMessage,
            "direct-human",
        ),
        (
            lambda: ToolMessage(content="tool result", tool_call_id="call-1", id="direct-tool"),
            ToolMessage,
            "direct-tool",
        ),
        (
            lambda: AIMessageChunk(content="a chunk returned directly", id="direct-chunk"),
            AIMessageChunk,
            "direct-chunk",
        ),
    ],
    ids=["ai", "human", "tool", "ai_chunk"],
)
def test_node_returned_message_is_emitted_once_before_updates(
    runner, msg_factory, expected_type, expected_id
):
    chunks = _run_return(runner, "no_llm", lambda state: {"messages": [msg_factory()]})

    assert [mode for mode, _ in chunks] == ["messages", "updates"]
    msg, meta = chunks[0][1]
    assert type(msg) is expected_type
    assert msg.id == expected_id
    _assert_node_meta(meta, "no_llm")
    (updated,) = chunks[1][1]["no_llm"]["messages"]
    assert updated is msg


def test_node_returned_message_without_id_gets_uuid_in_place(runner):
    chunks = _run_return(
        runner, "no_llm_ai_noid", lambda state: {"messages": [AIMessage(content="direct, no id")]}
    )

    assert [mode for mode, _ in chunks] == ["messages", "updates"]
    msg, meta = chunks[0][1]
    assert msg.content == "direct, no id"
    assert_uuid(msg.id)
    _assert_node_meta(meta, "no_llm_ai_noid")
    (updated,) = chunks[1][1]["no_llm_ai_noid"]["messages"]
    assert updated.id == msg.id


def test_node_returned_single_message_not_in_list(runner):
    chunks = _run_return(
        runner,
        "no_llm_single",
        lambda state: {"messages": AIMessage(content="single message not in list", id="single-ai")},
    )

    assert [mode for mode, _ in chunks] == ["messages", "updates"]
    assert chunks[0][1][0].id == "single-ai"
    # The update keeps the bare message (no list).
    assert isinstance(chunks[1][1]["no_llm_single"]["messages"], AIMessage)


def test_node_echoing_input_message_emits_nothing(runner):
    chunks = _run_return(
        runner, "no_llm_echo_input", lambda state: {"messages": [state["messages"][0]]}
    )

    assert [mode for mode, _ in chunks] == ["updates"]
    (msg,) = chunks[0][1]["no_llm_echo_input"]["messages"]
    assert msg.id == "human-1"


def test_node_returning_plain_string_emits_no_message(runner):
    chunks = _run_return(
        runner, "no_llm_str", lambda state: {"messages": ["plain string coerced by add_messages"]}
    )

    assert chunks == [
        ("updates", {"no_llm_str": {"messages": ["plain string coerced by add_messages"]}})
    ]


def test_node_returning_command_update_messages_is_emitted(runner):
    chunks = _run_return(
        runner,
        "cmd_node",
        lambda state: Command(update={"messages": [AIMessage(content="cmd", id="c1")]}),
    )

    assert [mode for mode, _ in chunks] == ["messages", "updates"]
    msg, meta = chunks[0][1]
    assert (msg.content, msg.id) == ("cmd", "c1")
    _assert_node_meta(meta, "cmd_node")


def test_node_returning_list_of_commands_emits_each_message(runner):
    chunks = runner.stream(
        single_node(
            lambda state: [
                Command(update={"messages": [AIMessage(content="c1", id="c1")]}),
                Command(update={"messages": [AIMessage(content="c2", id="c2")]}),
            ],
            name="cmds",
        ),
        human(),
        stream_mode="messages",
    )

    assert [msg.id for msg, _ in chunks] == ["c1", "c2"]
    for _, meta in chunks:
        _assert_node_meta(meta, "cmds")


def test_llm_tokens_then_extra_returned_message(runner):
    llm = generic("hello world from model")

    def llm_then_extra(state: MState) -> dict[str, Any]:
        reply = llm.invoke(state["messages"])
        return {"messages": [reply, AIMessage(content="extra", id="extra-1")]}

    chunks = runner.stream(single_node(llm_then_extra), human(), stream_mode="messages")

    assert contents(chunks) == [*HELLO_TOKENS, "extra"]
    assert all(type(m) is AIMessageChunk for m, _ in chunks[:7])
    extra, meta = chunks[7]
    assert type(extra) is AIMessage
    assert extra.id == "extra-1"
    assert list(meta) == NODE_KEYS
    # Node metadata shares the task namespace with the token metadata.
    assert meta["langgraph_checkpoint_ns"] == chunks[0][1]["langgraph_checkpoint_ns"]


# ---------------------------------------------------------------------------------------------
# Subgraphs
# ---------------------------------------------------------------------------------------------


def _sub() -> Any:
    builder = StateGraph(MState)
    builder.add_node("sub_call", llm_node(generic("sub graph tokens")))
    builder.add_edge(START, "sub_call")
    return builder.compile()


def _parent_with_subgraph_node() -> Any:
    builder = StateGraph(MState)
    builder.add_node("node_a", llm_node(generic("from node a")))
    builder.add_node("sub_node", _sub())
    builder.add_edge(START, "node_a")
    builder.add_edge("node_a", "sub_node")
    return builder.compile()


def _parent_calling_subgraph_in_fn() -> Any:
    sub = _sub()

    def call_sub_fn(state: MState) -> dict[str, Any]:
        out = sub.invoke({"messages": state["messages"]})
        return {"messages": out["messages"][-1:]}

    return single_node(call_sub_fn, name="call_sub_fn")


SUB_TOKENS = ["sub", " ", "graph", " ", "tokens"]
NODE_A_TOKENS = ["from", " ", "node", " ", "a"]


def test_subgraph_tokens_hidden_without_subgraphs_final_message_resurfaces(runner):
    chunks = runner.stream(_parent_with_subgraph_node(), human(), stream_mode="messages")

    assert contents(chunks) == [*NODE_A_TOKENS, "sub graph tokens"]
    msg, meta = chunks[5]
    assert type(msg) is AIMessage
    assert RUN_ID.fullmatch(msg.id)
    assert list(meta) == NODE_KEYS
    assert meta["ls_integration"] == "langgraph"
    assert meta["langgraph_node"] == "sub_node"
    assert meta["langgraph_step"] == 2
    assert meta["langgraph_triggers"] == ("branch:to:sub_node",)
    assert meta["langgraph_path"] == ("__pregel_pull", "sub_node")
    assert meta["langgraph_checkpoint_ns"].startswith("sub_node:")


def test_subgraph_tokens_with_subgraphs_true(runner):
    chunks = runner.stream(
        _parent_with_subgraph_node(), human(), stream_mode="messages", subgraphs=True
    )

    assert len(chunks) == 10
    assert [ns for ns, _ in chunks[:5]] == [()] * 5
    assert [p[0].content for _, p in chunks] == [*NODE_A_TOKENS, *SUB_TOKENS]
    sub_ns = chunks[5][0]
    assert len(sub_ns) == 1 and sub_ns[0].startswith("sub_node:")
    assert_uuid(sub_ns[0].split(":", 1)[1])
    for ns, (msg, meta) in chunks[5:]:
        assert ns == sub_ns
        assert type(msg) is AIMessageChunk
        assert list(meta) == LLM_KEYS
        assert meta["langgraph_node"] == "sub_call"
        assert meta["langgraph_step"] == 1
        assert meta["langgraph_triggers"] == ("branch:to:sub_call",)
        assert meta["langgraph_path"] == ("__pregel_pull", "sub_call")
        # Full path in langgraph_checkpoint_ns, only the outer element in checkpoint_ns.
        assert re.fullmatch(
            rf"{re.escape(sub_ns[0])}\|sub_call:{UUID}", meta["langgraph_checkpoint_ns"]
        )
        assert meta["checkpoint_ns"] == sub_ns[0]


def test_subgraph_messages_and_updates_order_with_subgraphs(runner):
    chunks = runner.stream(
        _parent_with_subgraph_node(), human(), stream_mode=["messages", "updates"], subgraphs=True
    )

    shape = [(ns[0].split(":")[0] if ns else "", mode) for ns, mode, _ in chunks]
    assert shape == [
        *[("", "messages")] * 5,
        ("", "updates"),
        *[("sub_node", "messages")] * 5,
        ("sub_node", "updates"),
        ("", "updates"),
    ]
    sub_update = chunks[11][2]
    assert list(sub_update) == ["sub_call"]
    (sub_msg,) = sub_update["sub_call"]["messages"]
    assert sub_msg.id == chunks[6][2][0].id
    root_update = chunks[12][2]
    assert [m.content for m in root_update["sub_node"]["messages"]] == [
        "hi",
        "from node a",
        "sub graph tokens",
    ]


def test_subgraph_called_in_node_fn_without_subgraphs(runner):
    chunks = runner.stream(_parent_calling_subgraph_in_fn(), human(), stream_mode="messages")

    assert len(chunks) == 1
    msg, meta = chunks[0]
    assert type(msg) is AIMessage
    assert msg.content == "sub graph tokens"
    assert RUN_ID.fullmatch(msg.id)
    _assert_node_meta(meta, "call_sub_fn")


def test_subgraph_called_in_node_fn_with_subgraphs(runner):
    chunks = runner.stream(
        _parent_calling_subgraph_in_fn(), human(), stream_mode="messages", subgraphs=True
    )

    # Tokens only: the final message has the same id as the tokens, so it is not re-emitted.
    assert [p[0].content for _, p in chunks] == SUB_TOKENS
    ns = chunks[0][0]
    assert len(ns) == 1 and ns[0].startswith("call_sub_fn:")
    for chunk_ns, (_msg, meta) in chunks:
        assert chunk_ns == ns
        assert meta["langgraph_node"] == "sub_call"
        assert meta["checkpoint_ns"] == ns[0]
        assert meta["langgraph_checkpoint_ns"].startswith(ns[0] + "|sub_call:")


# ---------------------------------------------------------------------------------------------
# Send
# ---------------------------------------------------------------------------------------------


class FState(TypedDict):
    subjects: list
    messages: Annotated[list, add_messages]


def test_llm_inside_send_tasks(runner):
    llm = generic("sent tokens")

    def fan(state: FState) -> list[Send]:
        return [Send("worker", {"subjects": [s], "messages": []}) for s in state["subjects"]]

    def worker(state: FState) -> dict[str, Any]:
        return {"messages": [llm.invoke(f"about {state['subjects'][0]}")]}

    builder = StateGraph(FState)
    builder.add_node("worker", worker)
    builder.add_conditional_edges(START, fan, ["worker"])
    chunks = runner.stream(
        builder.compile(), {"subjects": ["a", "b"], "messages": []}, stream_mode="messages"
    )

    assert len(chunks) == 6
    by_id: dict[str, list[Any]] = {}
    for msg, meta in chunks:
        by_id.setdefault(msg.id, []).append((msg, meta))
    assert len(by_id) == 2
    paths = set()
    namespaces = set()
    for group in by_id.values():
        assert [m.content for m, _ in group] == ["sent", " ", "tokens"]
        metas = {id(meta) for _, meta in group}
        assert len(metas) == 1
        meta = group[0][1]
        assert list(meta) == LLM_KEYS
        assert meta["langgraph_node"] == "worker"
        assert meta["langgraph_step"] == 1
        assert meta["langgraph_triggers"] == ("__pregel_push",)
        paths.add(meta["langgraph_path"])
        namespaces.add(meta["langgraph_checkpoint_ns"])
        assert meta["checkpoint_ns"] == meta["langgraph_checkpoint_ns"]
    assert paths == {("__pregel_push", 0, False), ("__pregel_push", 1, False)}
    assert len(namespaces) == 2
    assert all(n.startswith("worker:") for n in namespaces)


# ---------------------------------------------------------------------------------------------
# Async nodes (astream only)
# ---------------------------------------------------------------------------------------------


def _collect_async(graph: Any, *args: Any, **kwargs: Any) -> list[Any]:
    async def collect() -> list[Any]:
        return [c async for c in graph.astream(*args, **kwargs)]

    return asyncio.run(collect())


def test_async_node_ainvoke_streams_tokens():
    llm = generic("hello world from model")

    async def acall_model(state: MState) -> dict[str, Any]:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    chunks = _collect_async(single_node(acall_model), human(), stream_mode="messages")

    assert contents(chunks) == HELLO_TOKENS
    assert len({m.id for m, _ in chunks}) == 1
    assert all(list(meta) == LLM_KEYS for _, meta in chunks)
    assert chunks[-1][0].chunk_position == "last"


def test_async_node_astream_streams_tokens_once():
    llm = generic("hello world from model")

    async def acall_model_astream(state: MState) -> dict[str, Any]:
        full = None
        async for part in llm.astream(state["messages"]):
            full = part if full is None else full + part
        assert full is not None
        return {"messages": [AIMessage(content=full.content, id=full.id)]}

    chunks = _collect_async(
        single_node(acall_model_astream), human(), stream_mode=["messages", "updates"]
    )

    assert [mode for mode, _ in chunks] == ["messages"] * 7 + ["updates"]
    assert [p[0].content for _, p in chunks[:7]] == HELLO_TOKENS
    (final,) = chunks[7][1]["call_model"]["messages"]
    assert final.id == chunks[0][1][0].id


def test_message_types_are_base_messages(runner):
    graph = single_node(llm_node(generic("hello world from model")))
    chunks = runner.stream(graph, human(), stream_mode="messages")

    assert all(isinstance(m, BaseMessage) for m, _ in chunks)
