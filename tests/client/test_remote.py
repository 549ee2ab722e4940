"""``RemoteGraph``: the local graph interface over a server, alone and as a node of a local graph."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from typing_extensions import TypedDict

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.client import RemoteGraph, RunError, get_client, get_sync_client
from relaygraph.client._remote import Interrupt, merge_configs, sanitize_config
from relaygraph.graph import START, StateGraph
from relaygraph.types import Command
from tests.helpers import Runner

JOKE = {"topic": "ice cream and cats", "joke": "This is a joke about ice cream and cats"}


class Joke(TypedDict, total=False):
    topic: str
    joke: str


class Approval(TypedDict, total=False):
    question: str
    answer: str


def remote(name: str, url: str) -> RemoteGraph:
    return RemoteGraph(name, url=url, api_key=None)


# -- without a server: what goes on the wire ------------------------------------------------


def test_config_sanitizing_and_merging() -> None:
    config = {
        "recursion_limit": 5,
        "tags": ["a", 3],
        "metadata": {"langgraph_step": 1, "obj": object(), "nested": {"x": [1, object()]}},
        "configurable": {
            "thread_id": "t",
            "checkpoint_ns": "node:1",
            "checkpoint_id": "c",
            "__pregel_internal": 1,
            "user": "u",
            "fn": print,
        },
        "callbacks": [object()],
    }
    assert sanitize_config(config) == {
        "recursion_limit": 5,
        "tags": ["a"],
        "metadata": {"langgraph_step": 1, "nested": {"x": [1]}},
        "configurable": {"thread_id": "t", "user": "u"},
    }
    merged = merge_configs(
        {"tags": ["x"], "configurable": {"a": 1}}, {"tags": ["y"], "configurable": {"b": 2}}
    )
    assert merged == {"tags": ["x", "y"], "configurable": {"a": 1, "b": 2}}


def recording_transport(log: list[dict[str, Any]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append({"path": request.url.path, "json": json.loads(request.content or b"null")})
        body = (
            b'event: metadata\ndata: {"run_id":"r"}\n\n'
            b'event: values\ndata: {"question":"q"}\n\n'
            b'event: updates|sub:1\ndata: {"inner":{"x":1}}\n\n'
            b'event: updates\ndata: {"__interrupt__":[{"value":"q","id":"i1"}]}\n\n'
            b'event: values\ndata: {"question":"q","__interrupt__":[{"value":"q","id":"i1"}]}\n\n'
        )
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(handler)


def test_stream_request_and_shapes() -> None:
    log: list[dict[str, Any]] = []
    graph = RemoteGraph(
        "hitl",
        sync_client=get_sync_client(
            url="http://x", api_key=None, transport=recording_transport(log)
        ),
        config={"configurable": {"user": "u"}},
    )
    config = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
    assert list(graph.stream({"question": "q"}, config)) == [
        {"__interrupt__": [{"value": "q", "id": "i1"}]}
    ]
    assert log[0]["path"] == "/threads/t1/runs/stream"
    assert log[0]["json"] == {
        "input": {"question": "q"},
        "config": {"configurable": {"user": "u"}},
        "if_not_exists": "create",
        "stream_mode": ["updates"],
        "stream_subgraphs": False,
        "stream_resumable": False,
        "assistant_id": "hitl",
    }
    modes = list(graph.stream({}, stream_mode=["values", "messages"], subgraphs=True))
    assert log[1]["json"]["stream_mode"] == ["values", "messages-tuple", "updates"]
    assert log[1]["path"] == "/runs/stream"  # no thread: stateless
    assert modes[0] == ((), "values", {"question": "q"})
    assert modes[-1][1] == "values"
    assert list(graph.stream(Command(resume="yes"), config, stream_mode="values"))
    assert log[2]["json"]["command"] == {"resume": "yes"} and "input" not in log[2]["json"]


def test_as_a_node_an_interrupt_pauses_the_parent() -> None:
    log: list[dict[str, Any]] = []
    graph = RemoteGraph(
        "hitl",
        sync_client=get_sync_client(
            url="http://x", api_key=None, transport=recording_transport(log)
        ),
    )
    parent = (
        StateGraph(Approval)
        .add_node("remote", graph)
        .add_edge(START, "remote")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    result = parent.invoke({"question": "q"}, config)
    assert result["__interrupt__"] == [Interrupt("q", "i1")]
    assert parent.get_state(config).next == ("remote",)
    assert log[0]["path"] == f"/threads/{config['configurable']['thread_id']}/runs/stream"
    assert "checkpoint_ns" not in log[0]["json"]["config"].get("configurable", {})


async def test_async_face_uses_the_async_client() -> None:
    log: list[dict[str, Any]] = []
    graph = RemoteGraph(
        "hitl", client=get_client(url="http://x", api_key=None, transport=recording_transport(log))
    )
    values = [v async for v in graph.astream({"question": "q"}, stream_mode="values")]
    assert values[-1] == {"question": "q", "__interrupt__": [{"value": "q", "id": "i1"}]}
    assert await graph.ainvoke({"question": "q"}) == values[-1]


# -- against the real server -------------------------------------------------------------


def test_invoke_and_stream(live_url: str, runner: Runner) -> None:
    graph = remote("agent", live_url)
    assert runner.invoke(graph, {"topic": "ice cream"}) == JOKE
    assert runner.stream(graph, {"topic": "ice cream"}) == [
        {"refine_topic": {"topic": "ice cream and cats"}},
        {"generate_joke": {"joke": "This is a joke about ice cream and cats"}},
    ]
    both = runner.stream(graph, {"topic": "ice cream"}, stream_mode=["values", "updates"])
    assert [mode for mode, _ in both] == ["values", "updates", "values", "updates", "values"]
    nested = runner.stream(remote("subgraph", live_url), {"foo": "foo"}, subgraphs=True)
    assert [len(ns) for ns, _ in nested] == [0, 1, 1, 0]
    assert nested[1][0][0].startswith("node_2:")


def test_server_failure_raises_run_error(live_url: str, runner: Runner) -> None:
    with pytest.raises(RunError, match="ValueError: kaboom"):
        runner.invoke(remote("boom", live_url), {})


def test_as_a_node_of_a_local_graph(live_url: str, runner: Runner) -> None:
    parent = StateGraph(Joke).add_node("remote", remote("agent", live_url))
    parent = parent.add_edge(START, "remote").compile()
    assert runner.invoke(parent, {"topic": "ice cream"}) == JOKE
    assert runner.stream(parent, {"topic": "ice cream"}, stream_mode="updates") == [
        {"remote": JOKE}
    ]


def test_thread_state_interrupt_and_resume(live_url: str) -> None:
    graph = remote("hitl", live_url)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert graph.invoke({"question": "ship it?"}, config)["__interrupt__"][0]["value"] == {
        "question": "ship it?"
    }
    state = graph.get_state(config)
    assert state.next == ("ask",)
    assert state.interrupts[0].value == {"question": "ship it?"}
    assert graph.invoke(Command(resume="yes"), config) == {"question": "ship it?", "answer": "yes"}
    history = list(graph.get_state_history(config))
    assert history[0].values == {"question": "ship it?", "answer": "yes"}
    written = graph.update_state(config, {"answer": "no"}, as_node="ask")
    assert written["configurable"]["checkpoint_id"]
    assert graph.get_state(config).values["answer"] == "no"
    at = graph.get_state(history[1].config)  # a past checkpoint by its config
    assert at.values == {"question": "ship it?"}


async def test_async_state_methods(live_url: str) -> None:
    graph = remote("agent", live_url)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert await graph.ainvoke({"topic": "ice cream"}, config) == JOKE
    assert (await graph.aget_state(config)).values == JOKE
    await graph.aupdate_state(config, {"topic": "dogs"}, as_node="refine_topic")
    assert (await graph.aget_state(config)).next == ("generate_joke",)
    assert len([s async for s in graph.aget_state_history(config)]) >= 4
    drawing = await graph.aget_graph()
    assert {n["id"] for n in drawing["nodes"]} >= {"refine_topic", "generate_joke"}
