"""s03: the ``custom`` stream mode and its three writers.

Facts: STREAMING.md §4 and golden-library/s03_custom.normalized.txt.
"""

import asyncio
from typing import TypedDict

import pytest

from relaygraph.config import get_stream_writer
from relaygraph.graph import START, StateGraph
from relaygraph.runtime import Runtime
from relaygraph.types import StreamWriter
from tests.helpers import canon, exp_debug, exp_result, exp_task


class JokeState(TypedDict):
    topic: str
    joke: str


WRITTEN_BY_FIRST = [
    {"custom_key": "refining topic"},
    "a plain string",
    42,
    None,
    ("a", "tuple"),
    ["a", "list"],
]


def _writes_many_types(state: JokeState) -> dict:
    write = get_stream_writer()
    for item in WRITTEN_BY_FIRST:
        write(item)
    return {"topic": state["topic"] + " and cats"}


def _writes_via_param(state: JokeState, writer: StreamWriter) -> dict:
    writer({"progress": 0})
    writer({"progress": 100})
    return {"joke": f"This is a joke about {state['topic']}"}


def _writes_via_runtime(state: JokeState, runtime: Runtime) -> dict:
    runtime.stream_writer({"from": "runtime.stream_writer"})
    return {}


def make_graph():
    b = StateGraph(JokeState)
    b.add_node("refine_topic", _writes_many_types)
    b.add_node("generate_joke", _writes_via_param)
    b.add_node("with_runtime", _writes_via_runtime)
    b.add_edge(START, "refine_topic")
    b.add_edge("refine_topic", "generate_joke")
    b.add_edge("generate_joke", "with_runtime")
    return b.compile()


IN = {"topic": "ice cream"}
T1 = "ice cream and cats"
J1 = "This is a joke about ice cream and cats"
ALL_CUSTOM = [
    *WRITTEN_BY_FIRST,
    {"progress": 0},
    {"progress": 100},
    {"from": "runtime.stream_writer"},
]


def test_custom_chunks_are_the_written_objects_unwrapped(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="custom")
    assert chunks == ALL_CUSTOM
    assert [type(c) for c in chunks] == [dict, str, int, type(None), tuple, list, dict, dict, dict]


def test_custom_chunks_keep_object_identity_of_written_values(runner):
    sentinel = {"same": "object"}

    def node(state: JokeState) -> dict:
        get_stream_writer()(sentinel)
        return {}

    b = StateGraph(JokeState)
    b.add_node("n", node)
    b.add_edge(START, "n")
    chunks = runner.stream(b.compile(), IN, stream_mode="custom")
    assert chunks == [sentinel]
    assert chunks[0] is sentinel


def test_custom_in_mode_list_arrives_before_the_node_update(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["updates", "custom"])
    expected = [
        *[("custom", c) for c in WRITTEN_BY_FIRST],
        ("updates", {"refine_topic": {"topic": T1}}),
        ("custom", {"progress": 0}),
        ("custom", {"progress": 100}),
        ("updates", {"generate_joke": {"joke": J1}}),
        ("custom", {"from": "runtime.stream_writer"}),
        ("updates", {"with_runtime": None}),
    ]
    assert chunks == expected


def test_custom_sits_between_task_start_and_task_result(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["custom", "values", "updates", "tasks"])
    v1 = {"topic": T1}
    v2 = {"topic": T1, "joke": J1}
    expected = [
        ("values", {"topic": "ice cream"}),
        ("tasks", exp_task("<uuid-1>", "refine_topic", {"topic": "ice cream"})),
        *[("custom", c) for c in WRITTEN_BY_FIRST],
        ("updates", {"refine_topic": v1}),
        ("tasks", exp_result("<uuid-1>", "refine_topic", v1)),
        ("values", v1),
        ("tasks", exp_task("<uuid-2>", "generate_joke", v1)),
        ("custom", {"progress": 0}),
        ("custom", {"progress": 100}),
        ("updates", {"generate_joke": {"joke": J1}}),
        ("tasks", exp_result("<uuid-2>", "generate_joke", {"joke": J1})),
        ("values", v2),
        ("tasks", exp_task("<uuid-3>", "with_runtime", v2)),
        ("custom", {"from": "runtime.stream_writer"}),
        ("updates", {"with_runtime": None}),
        ("tasks", exp_result("<uuid-3>", "with_runtime", {})),
    ]
    assert canon(chunks) == canon(expected)


def test_writer_is_a_silent_no_op_when_custom_not_requested(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="updates")
    assert chunks == [
        {"refine_topic": {"topic": T1}},
        {"generate_joke": {"joke": J1}},
        {"with_runtime": None},
    ]


def test_writer_is_a_silent_no_op_with_values_and_debug(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["values", "debug"])
    v1 = {"topic": T1}
    v2 = {"topic": T1, "joke": J1}
    expected = [
        ("values", {"topic": "ice cream"}),
        (
            "debug",
            exp_debug(1, "task", exp_task("<uuid-1>", "refine_topic", {"topic": "ice cream"})),
        ),
        ("debug", exp_debug(1, "task_result", exp_result("<uuid-1>", "refine_topic", v1))),
        ("values", v1),
        ("debug", exp_debug(2, "task", exp_task("<uuid-2>", "generate_joke", v1))),
        (
            "debug",
            exp_debug(2, "task_result", exp_result("<uuid-2>", "generate_joke", {"joke": J1})),
        ),
        ("values", v2),
        ("debug", exp_debug(3, "task", exp_task("<uuid-3>", "with_runtime", v2))),
        ("debug", exp_debug(3, "task_result", exp_result("<uuid-3>", "with_runtime", {}))),
    ]
    assert canon(chunks) == canon(expected)


def test_invoke_ignores_writer_calls(runner):
    assert runner.invoke(make_graph(), IN) == {"topic": T1, "joke": J1}


def test_custom_with_subgraphs_true_and_no_subgraph_uses_root_namespace(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="custom", subgraphs=True)
    assert chunks == [((), c) for c in ALL_CUSTOM]


# ---- async nodes ---------------------------------------------------------------------------


async def _async_writer_node(state: JokeState) -> dict:
    write = get_stream_writer()
    write("async-1")
    await asyncio.sleep(0)
    write("async-2")
    return {"topic": "t"}


def make_async_graph():
    b = StateGraph(JokeState)
    b.add_node("async_node", _async_writer_node)
    b.add_edge(START, "async_node")
    return b.compile()


def _astream(graph, *args, **kwargs) -> list:
    async def collect() -> list:
        return [c async for c in graph.astream(*args, **kwargs)]

    return asyncio.run(collect())


def test_async_node_get_stream_writer():
    assert _astream(make_async_graph(), IN, stream_mode="custom") == ["async-1", "async-2"]


def test_async_node_custom_before_update():
    chunks = _astream(make_async_graph(), IN, stream_mode=["custom", "updates"])
    assert chunks == [
        ("custom", "async-1"),
        ("custom", "async-2"),
        ("updates", {"async_node": {"topic": "t"}}),
    ]


def test_get_stream_writer_outside_a_run_raises():
    with pytest.raises(RuntimeError) as info:
        get_stream_writer()
    assert str(info.value) == "Called get_config outside of a runnable context"


# ---- subgraphs -----------------------------------------------------------------------------
class ChildState(TypedDict):
    foo: str
    bar: str


class ParentState(TypedDict):
    foo: str


def _child_1(state: ChildState) -> dict:
    get_stream_writer()({"sub": "sub_1 says hi"})
    return {"bar": "bar"}


def _child_2(state: ChildState, writer: StreamWriter) -> dict:
    writer({"sub": "sub_2 says hi"})
    return {"foo": state["foo"] + state["bar"]}


def make_child():
    b = StateGraph(ChildState)
    b.add_node("sub_1", _child_1)
    b.add_node("sub_2", _child_2)
    b.add_edge(START, "sub_1")
    b.add_edge("sub_1", "sub_2")
    return b.compile()


CHILD = make_child()


def _parent_1(state: ParentState) -> dict:
    get_stream_writer()({"parent": "node_1 says hi"})
    return {"foo": "hi! " + state["foo"]}


def make_parent():
    b = StateGraph(ParentState)
    b.add_node("node_1", _parent_1)
    b.add_node("node_2", make_child())
    b.add_edge(START, "node_1")
    b.add_edge("node_1", "node_2")
    return b.compile()


PIN = {"foo": "foo"}


def test_subgraph_custom_dropped_without_subgraphs(runner):
    assert runner.stream(make_parent(), PIN, stream_mode="custom") == [{"parent": "node_1 says hi"}]


def test_subgraph_custom_with_subgraphs(runner):
    chunks = runner.stream(make_parent(), PIN, stream_mode="custom", subgraphs=True)
    expected = [
        ((), {"parent": "node_1 says hi"}),
        (("node_2:<uuid-1>",), {"sub": "sub_1 says hi"}),
        (("node_2:<uuid-1>",), {"sub": "sub_2 says hi"}),
    ]
    assert canon(chunks) == canon(expected)


def test_subgraph_custom_and_updates_with_subgraphs(runner):
    chunks = runner.stream(make_parent(), PIN, stream_mode=["custom", "updates"], subgraphs=True)
    ns = ("node_2:<uuid-1>",)
    expected = [
        ((), "custom", {"parent": "node_1 says hi"}),
        ((), "updates", {"node_1": {"foo": "hi! foo"}}),
        (ns, "custom", {"sub": "sub_1 says hi"}),
        (ns, "updates", {"sub_1": {"bar": "bar"}}),
        (ns, "custom", {"sub": "sub_2 says hi"}),
        (ns, "updates", {"sub_2": {"foo": "hi! foobar"}}),
        ((), "updates", {"node_2": {"foo": "hi! foobar"}}),
    ]
    assert canon(chunks) == canon(expected)


def test_subgraph_custom_and_updates_without_subgraphs(runner):
    chunks = runner.stream(make_parent(), PIN, stream_mode=["custom", "updates"])
    assert chunks == [
        ("custom", {"parent": "node_1 says hi"}),
        ("updates", {"node_1": {"foo": "hi! foo"}}),
        ("updates", {"node_2": {"foo": "hi! foobar"}}),
    ]


def _invokes_child(state: ParentState) -> dict:
    get_stream_writer()({"parent": "call_sub before invoke"})
    out = CHILD.invoke({"foo": state["foo"]})
    get_stream_writer()({"parent": "call_sub after invoke"})
    return {"foo": out["foo"]}


def make_invoking_parent():
    b = StateGraph(ParentState)
    b.add_node("call_sub", _invokes_child)
    b.add_edge(START, "call_sub")
    return b.compile()


def test_invoked_subgraph_custom_dropped_without_subgraphs(runner):
    chunks = runner.stream(make_invoking_parent(), PIN, stream_mode="custom")
    assert chunks == [{"parent": "call_sub before invoke"}, {"parent": "call_sub after invoke"}]


def test_invoked_subgraph_custom_with_subgraphs(runner):
    chunks = runner.stream(make_invoking_parent(), PIN, stream_mode="custom", subgraphs=True)
    ns = ("call_sub:<uuid-1>",)
    expected = [
        ((), {"parent": "call_sub before invoke"}),
        (ns, {"sub": "sub_1 says hi"}),
        (ns, {"sub": "sub_2 says hi"}),
        ((), {"parent": "call_sub after invoke"}),
    ]
    assert canon(chunks) == canon(expected)


def _iterates_child_stream(state: ParentState) -> dict:
    got = list(CHILD.stream({"foo": state["foo"]}, stream_mode="custom"))
    return {"foo": repr(got)}


def make_iterating_parent():
    b = StateGraph(ParentState)
    b.add_node("stream_sub", _iterates_child_stream)
    b.add_edge(START, "stream_sub")
    return b.compile()


GOT = repr([{"sub": "sub_1 says hi"}, {"sub": "sub_2 says hi"}])


@pytest.mark.parametrize("modes", [["custom", "updates"], ["updates"]])
def test_node_iterating_child_stream_consumes_its_custom_chunks(runner, modes):
    chunks = runner.stream(make_iterating_parent(), PIN, stream_mode=modes)
    assert chunks == [("updates", {"stream_sub": {"foo": GOT}})]


def test_node_iterating_child_stream_parent_still_sees_child_updates(runner):
    chunks = runner.stream(
        make_iterating_parent(), PIN, stream_mode=["custom", "updates"], subgraphs=True
    )
    ns = ("stream_sub:<uuid-1>",)
    expected = [
        (ns, "updates", {"sub_1": {"bar": "bar"}}),
        (ns, "updates", {"sub_2": {"foo": "foobar"}}),
        ((), "updates", {"stream_sub": {"foo": GOT}}),
    ]
    assert canon(chunks) == canon(expected)
