"""s02: subgraphs added as nodes, invoked inside node functions, called twice, nested.

Facts: STREAMING.md §1.4, §1.5, §2.10, §3, §6, §7 and golden-library/s02_subgraphs.normalized.txt.
"""

from typing import TypedDict

import pytest

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import START, StateGraph
from tests.helpers import (
    canon,
    exp_checkpoint,
    exp_config,
    exp_cp_task,
    exp_debug,
    exp_result,
    exp_task,
)


# ---- subgraph added as a node ------------------------------------------------------------
class ChildState(TypedDict):
    foo: str  # shared with the parent
    bar: str


class ParentState(TypedDict):
    foo: str


def _child_first(state: ChildState) -> dict:
    return {"bar": "bar"}


def _child_second(state: ChildState) -> dict:
    return {"foo": state["foo"] + state["bar"]}


def _greet(state: ParentState) -> dict:
    return {"foo": "hi! " + state["foo"]}


def make_child():
    b = StateGraph(ChildState)
    b.add_node("subgraph_node_1", _child_first)
    b.add_node("subgraph_node_2", _child_second)
    b.add_edge(START, "subgraph_node_1")
    b.add_edge("subgraph_node_1", "subgraph_node_2")
    return b.compile()


def make_parent(checkpointer=None):
    b = StateGraph(ParentState)
    b.add_node("node_1", _greet)
    b.add_node("node_2", make_child())
    b.add_edge(START, "node_1")
    b.add_edge("node_1", "node_2")
    return b.compile(checkpointer=checkpointer)


IN = {"foo": "foo"}
SUB = "node_2:<uuid-1>"


def cfg(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


def test_get_subgraphs_lists_the_subgraph_node():
    assert [name for name, _ in make_parent().get_subgraphs(recurse=True)] == ["node_2"]


def test_updates_without_subgraphs_show_only_root(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="updates")
    assert chunks == [{"node_1": {"foo": "hi! foo"}}, {"node_2": {"foo": "hi! foobar"}}]


def test_updates_with_subgraphs(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="updates", subgraphs=True)
    expected = [
        ((), {"node_1": {"foo": "hi! foo"}}),
        ((SUB,), {"subgraph_node_1": {"bar": "bar"}}),
        ((SUB,), {"subgraph_node_2": {"foo": "hi! foobar"}}),
        ((), {"node_2": {"foo": "hi! foobar"}}),
    ]
    assert canon(chunks) == canon(expected)
    assert all(type(ns) is tuple for ns, _ in chunks)


def test_values_without_subgraphs(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="values")
    assert chunks == [{"foo": "foo"}, {"foo": "hi! foo"}, {"foo": "hi! foobar"}]


def test_values_with_subgraphs_carry_the_subgraph_keys(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="values", subgraphs=True)
    expected = [
        ((), {"foo": "foo"}),
        ((), {"foo": "hi! foo"}),
        ((SUB,), {"foo": "hi! foo"}),
        ((SUB,), {"foo": "hi! foo", "bar": "bar"}),
        ((SUB,), {"foo": "hi! foobar", "bar": "bar"}),
        ((), {"foo": "hi! foobar"}),
    ]
    assert canon(chunks) == canon(expected)


def test_mode_list_with_subgraphs_yields_triples(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode=["values", "updates"], subgraphs=True)
    expected = [
        ((), "values", {"foo": "foo"}),
        ((), "updates", {"node_1": {"foo": "hi! foo"}}),
        ((), "values", {"foo": "hi! foo"}),
        ((SUB,), "values", {"foo": "hi! foo"}),
        ((SUB,), "updates", {"subgraph_node_1": {"bar": "bar"}}),
        ((SUB,), "values", {"foo": "hi! foo", "bar": "bar"}),
        ((SUB,), "updates", {"subgraph_node_2": {"foo": "hi! foobar"}}),
        ((SUB,), "values", {"foo": "hi! foobar", "bar": "bar"}),
        ((), "updates", {"node_2": {"foo": "hi! foobar"}}),
        ((), "values", {"foo": "hi! foobar"}),
    ]
    assert canon(chunks) == canon(expected)


def test_mode_list_without_subgraphs_yields_pairs(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode=["updates"], subgraphs=False)
    assert chunks == [
        ("updates", {"node_1": {"foo": "hi! foo"}}),
        ("updates", {"node_2": {"foo": "hi! foobar"}}),
    ]


def test_tasks_without_subgraphs(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="tasks")
    expected = [
        exp_task("<uuid-1>", "node_1", {"foo": "foo"}),
        exp_result("<uuid-1>", "node_1", {"foo": "hi! foo"}),
        exp_task("<uuid-2>", "node_2", {"foo": "hi! foo"}),
        exp_result("<uuid-2>", "node_2", {"foo": "hi! foobar"}),
    ]
    assert canon(chunks) == canon(expected)


def test_tasks_with_subgraphs_nest_between_parent_start_and_result(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="tasks", subgraphs=True)
    ns = ("node_2:<uuid-2>",)
    expected = [
        ((), exp_task("<uuid-1>", "node_1", {"foo": "foo"})),
        ((), exp_result("<uuid-1>", "node_1", {"foo": "hi! foo"})),
        ((), exp_task("<uuid-2>", "node_2", {"foo": "hi! foo"})),
        (ns, exp_task("<uuid-3>", "subgraph_node_1", {"foo": "hi! foo"})),
        (ns, exp_result("<uuid-3>", "subgraph_node_1", {"bar": "bar"})),
        (ns, exp_task("<uuid-4>", "subgraph_node_2", {"foo": "hi! foo", "bar": "bar"})),
        (ns, exp_result("<uuid-4>", "subgraph_node_2", {"foo": "hi! foobar"})),
        ((), exp_result("<uuid-2>", "node_2", {"foo": "hi! foobar"})),
    ]
    assert canon(chunks) == canon(expected)


def test_namespace_task_id_is_the_parent_task_id(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="tasks", subgraphs=True)
    parent_start = chunks[2][1]
    assert parent_start["name"] == "node_2"
    sub_ns = chunks[3][0]
    assert len(sub_ns) == 1
    assert sub_ns[0].startswith("node_2:")
    assert sub_ns[0] == f"node_2:{parent_start['id']}"


def test_debug_without_subgraphs(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="debug")
    expected = [
        exp_debug(1, "task", exp_task("<uuid-1>", "node_1", {"foo": "foo"})),
        exp_debug(1, "task_result", exp_result("<uuid-1>", "node_1", {"foo": "hi! foo"})),
        exp_debug(2, "task", exp_task("<uuid-2>", "node_2", {"foo": "hi! foo"})),
        exp_debug(2, "task_result", exp_result("<uuid-2>", "node_2", {"foo": "hi! foobar"})),
    ]
    assert canon(chunks) == canon(expected)


def test_debug_with_subgraphs_counts_subgraph_steps_separately(runner):
    chunks = runner.stream(make_parent(), IN, stream_mode="debug", subgraphs=True)
    ns = ("node_2:<uuid-2>",)
    expected = [
        ((), exp_debug(1, "task", exp_task("<uuid-1>", "node_1", {"foo": "foo"}))),
        ((), exp_debug(1, "task_result", exp_result("<uuid-1>", "node_1", {"foo": "hi! foo"}))),
        ((), exp_debug(2, "task", exp_task("<uuid-2>", "node_2", {"foo": "hi! foo"}))),
        (ns, exp_debug(1, "task", exp_task("<uuid-3>", "subgraph_node_1", {"foo": "hi! foo"}))),
        (
            ns,
            exp_debug(1, "task_result", exp_result("<uuid-3>", "subgraph_node_1", {"bar": "bar"})),
        ),
        (
            ns,
            exp_debug(
                2, "task", exp_task("<uuid-4>", "subgraph_node_2", {"foo": "hi! foo", "bar": "bar"})
            ),
        ),
        (
            ns,
            exp_debug(
                2, "task_result", exp_result("<uuid-4>", "subgraph_node_2", {"foo": "hi! foobar"})
            ),
        ),
        ((), exp_debug(2, "task_result", exp_result("<uuid-2>", "node_2", {"foo": "hi! foobar"}))),
    ]
    assert canon(chunks) == canon(expected)


@pytest.mark.parametrize("mode", ["checkpoints", "custom", "messages"])
@pytest.mark.parametrize("subgraphs", [False, True])
def test_modes_with_nothing_to_report_stay_empty(runner, mode, subgraphs):
    assert runner.stream(make_parent(), IN, stream_mode=mode, subgraphs=subgraphs) == []


# ---- with a checkpointer -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["values", "updates"])
def test_checkpointer_does_not_change_values_or_updates(runner, mode):
    plain = runner.stream(make_parent(), IN, stream_mode=mode, subgraphs=True)
    saved = runner.stream(
        make_parent(InMemorySaver()), IN, cfg("sub1"), stream_mode=mode, subgraphs=True
    )
    assert canon(saved) == canon(plain)


def _root_checkpoints(t: str) -> list:
    """Root checkpoints -1, 0, 1 of the parent graph (ids <uuid-1>..<uuid-6>)."""
    return [
        exp_checkpoint(
            exp_config(t, "<uuid-1>"),
            None,
            {},
            -1,
            ["__start__"],
            [exp_cp_task("<uuid-2>", "__start__")],
        ),
        exp_checkpoint(
            exp_config(t, "<uuid-3>"),
            exp_config(t, "<uuid-1>"),
            {"foo": "foo"},
            0,
            ["node_1"],
            [exp_cp_task("<uuid-4>", "node_1")],
        ),
        exp_checkpoint(
            exp_config(t, "<uuid-5>"),
            exp_config(t, "<uuid-3>"),
            {"foo": "hi! foo"},
            1,
            ["node_2"],
            [
                exp_cp_task(
                    "<uuid-6>",
                    "node_2",
                    state={"configurable": {"thread_id": t, "checkpoint_ns": "node_2:<uuid-6>"}},
                )
            ],
        ),
    ]


def _sub_config(t: str, cid: str) -> dict:
    ns = "node_2:<uuid-6>"
    return exp_config(t, cid, ns=ns, checkpoint_map={"": "<uuid-5>", ns: cid})


def test_checkpoints_with_subgraphs(runner):
    t = "sub1"
    chunks = runner.stream(
        make_parent(InMemorySaver()), IN, cfg(t), stream_mode="checkpoints", subgraphs=True
    )
    ns = ("node_2:<uuid-6>",)
    root = _root_checkpoints(t)
    parents = {"": "<uuid-5>"}
    expected = [
        ((), root[0]),
        ((), root[1]),
        ((), root[2]),
        (
            ns,
            exp_checkpoint(
                _sub_config(t, "<uuid-7>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-8>", "__start__")],
                parents=parents,
            ),
        ),
        (
            ns,
            exp_checkpoint(
                _sub_config(t, "<uuid-9>"),
                _sub_config(t, "<uuid-7>"),
                {"foo": "hi! foo"},
                0,
                ["subgraph_node_1"],
                [exp_cp_task("<uuid-10>", "subgraph_node_1")],
                parents=parents,
            ),
        ),
        (
            ns,
            exp_checkpoint(
                _sub_config(t, "<uuid-11>"),
                _sub_config(t, "<uuid-9>"),
                {"foo": "hi! foo", "bar": "bar"},
                1,
                ["subgraph_node_2"],
                [exp_cp_task("<uuid-12>", "subgraph_node_2")],
                parents=parents,
            ),
        ),
        (
            ns,
            exp_checkpoint(
                _sub_config(t, "<uuid-13>"),
                _sub_config(t, "<uuid-11>"),
                {"foo": "hi! foobar", "bar": "bar"},
                2,
                [],
                [],
                parents=parents,
            ),
        ),
        (
            (),
            exp_checkpoint(
                exp_config(t, "<uuid-14>"),
                exp_config(t, "<uuid-5>"),
                {"foo": "hi! foobar"},
                2,
                [],
                [],
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)


def test_debug_with_subgraphs_and_checkpointer(runner):
    t = "sub1"
    chunks = runner.stream(
        make_parent(InMemorySaver()), IN, cfg(t), stream_mode="debug", subgraphs=True
    )
    ns = ("node_2:<uuid-6>",)
    root = _root_checkpoints(t)
    parents = {"": "<uuid-5>"}
    expected = [
        ((), exp_debug(-1, "checkpoint", root[0])),
        ((), exp_debug(0, "checkpoint", root[1])),
        ((), exp_debug(1, "task", exp_task("<uuid-4>", "node_1", {"foo": "foo"}))),
        ((), exp_debug(1, "task_result", exp_result("<uuid-4>", "node_1", {"foo": "hi! foo"}))),
        ((), exp_debug(1, "checkpoint", root[2])),
        ((), exp_debug(2, "task", exp_task("<uuid-6>", "node_2", {"foo": "hi! foo"}))),
        (
            ns,
            exp_debug(
                -1,
                "checkpoint",
                exp_checkpoint(
                    _sub_config(t, "<uuid-7>"),
                    None,
                    {},
                    -1,
                    ["__start__"],
                    [exp_cp_task("<uuid-8>", "__start__")],
                    parents=parents,
                ),
            ),
        ),
        (
            ns,
            exp_debug(
                0,
                "checkpoint",
                exp_checkpoint(
                    _sub_config(t, "<uuid-9>"),
                    _sub_config(t, "<uuid-7>"),
                    {"foo": "hi! foo"},
                    0,
                    ["subgraph_node_1"],
                    [exp_cp_task("<uuid-10>", "subgraph_node_1")],
                    parents=parents,
                ),
            ),
        ),
        (ns, exp_debug(1, "task", exp_task("<uuid-10>", "subgraph_node_1", {"foo": "hi! foo"}))),
        (
            ns,
            exp_debug(1, "task_result", exp_result("<uuid-10>", "subgraph_node_1", {"bar": "bar"})),
        ),
        (
            ns,
            exp_debug(
                1,
                "checkpoint",
                exp_checkpoint(
                    _sub_config(t, "<uuid-11>"),
                    _sub_config(t, "<uuid-9>"),
                    {"foo": "hi! foo", "bar": "bar"},
                    1,
                    ["subgraph_node_2"],
                    [exp_cp_task("<uuid-12>", "subgraph_node_2")],
                    parents=parents,
                ),
            ),
        ),
        (
            ns,
            exp_debug(
                2,
                "task",
                exp_task("<uuid-12>", "subgraph_node_2", {"foo": "hi! foo", "bar": "bar"}),
            ),
        ),
        (
            ns,
            exp_debug(
                2, "task_result", exp_result("<uuid-12>", "subgraph_node_2", {"foo": "hi! foobar"})
            ),
        ),
        (
            ns,
            exp_debug(
                2,
                "checkpoint",
                exp_checkpoint(
                    _sub_config(t, "<uuid-13>"),
                    _sub_config(t, "<uuid-11>"),
                    {"foo": "hi! foobar", "bar": "bar"},
                    2,
                    [],
                    [],
                    parents=parents,
                ),
            ),
        ),
        ((), exp_debug(2, "task_result", exp_result("<uuid-6>", "node_2", {"foo": "hi! foobar"}))),
        (
            (),
            exp_debug(
                2,
                "checkpoint",
                exp_checkpoint(
                    exp_config(t, "<uuid-14>"),
                    exp_config(t, "<uuid-5>"),
                    {"foo": "hi! foobar"},
                    2,
                    [],
                    [],
                ),
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)


def test_debug_without_subgraphs_but_with_checkpointer_hides_subgraph_checkpoints(runner):
    t = "sub2"
    chunks = runner.stream(make_parent(InMemorySaver()), IN, cfg(t), stream_mode="debug")
    root = _root_checkpoints(t)
    expected = [
        exp_debug(-1, "checkpoint", root[0]),
        exp_debug(0, "checkpoint", root[1]),
        exp_debug(1, "task", exp_task("<uuid-4>", "node_1", {"foo": "foo"})),
        exp_debug(1, "task_result", exp_result("<uuid-4>", "node_1", {"foo": "hi! foo"})),
        exp_debug(1, "checkpoint", root[2]),
        exp_debug(2, "task", exp_task("<uuid-6>", "node_2", {"foo": "hi! foo"})),
        exp_debug(2, "task_result", exp_result("<uuid-6>", "node_2", {"foo": "hi! foobar"})),
        exp_debug(
            2,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-7>"),
                exp_config(t, "<uuid-5>"),
                {"foo": "hi! foobar"},
                2,
                [],
                [],
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)


# ---- subgraph invoked from inside a node function ------------------------------------------
class InnerState(TypedDict):
    x: str


def _inner_a(state: InnerState) -> dict:
    return {"x": state["x"] + "-a"}


def _inner_b(state: InnerState) -> dict:
    return {"x": state["x"] + "-b"}


def make_inner():
    b = StateGraph(InnerState)
    b.add_node("other_a", _inner_a)
    b.add_node("other_b", _inner_b)
    b.add_edge(START, "other_a")
    b.add_edge("other_a", "other_b")
    return b.compile()


INNER = make_inner()


def call_sub(state: ParentState) -> dict:
    return {"foo": INNER.invoke({"x": state["foo"]})["x"]}


def call_sub_twice(state: ParentState) -> dict:
    first = INNER.invoke({"x": state["foo"]})
    second = INNER.invoke({"x": first["x"]})
    return {"foo": second["x"]}


def make_caller(fn, checkpointer=None):
    b = StateGraph(ParentState)
    b.add_node("node_1", _greet)
    b.add_node(fn.__name__, fn)
    b.add_edge(START, "node_1")
    b.add_edge("node_1", fn.__name__)
    return b.compile(checkpointer=checkpointer)


def test_invoked_subgraph_updates_use_calling_task_namespace(runner):
    chunks = runner.stream(make_caller(call_sub), IN, stream_mode="updates", subgraphs=True)
    ns = ("call_sub:<uuid-1>",)
    expected = [
        ((), {"node_1": {"foo": "hi! foo"}}),
        (ns, {"other_a": {"x": "hi! foo-a"}}),
        (ns, {"other_b": {"x": "hi! foo-a-b"}}),
        ((), {"call_sub": {"foo": "hi! foo-a-b"}}),
    ]
    assert canon(chunks) == canon(expected)


def test_invoked_subgraph_values(runner):
    chunks = runner.stream(make_caller(call_sub), IN, stream_mode="values", subgraphs=True)
    ns = ("call_sub:<uuid-1>",)
    expected = [
        ((), {"foo": "foo"}),
        ((), {"foo": "hi! foo"}),
        (ns, {"x": "hi! foo"}),
        (ns, {"x": "hi! foo-a"}),
        (ns, {"x": "hi! foo-a-b"}),
        ((), {"foo": "hi! foo-a-b"}),
    ]
    assert canon(chunks) == canon(expected)


def test_invoked_subgraph_debug(runner):
    chunks = runner.stream(make_caller(call_sub), IN, stream_mode="debug", subgraphs=True)
    ns = ("call_sub:<uuid-2>",)
    expected = [
        ((), exp_debug(1, "task", exp_task("<uuid-1>", "node_1", {"foo": "foo"}))),
        ((), exp_debug(1, "task_result", exp_result("<uuid-1>", "node_1", {"foo": "hi! foo"}))),
        ((), exp_debug(2, "task", exp_task("<uuid-2>", "call_sub", {"foo": "hi! foo"}))),
        (ns, exp_debug(1, "task", exp_task("<uuid-3>", "other_a", {"x": "hi! foo"}))),
        (ns, exp_debug(1, "task_result", exp_result("<uuid-3>", "other_a", {"x": "hi! foo-a"}))),
        (ns, exp_debug(2, "task", exp_task("<uuid-4>", "other_b", {"x": "hi! foo-a"}))),
        (ns, exp_debug(2, "task_result", exp_result("<uuid-4>", "other_b", {"x": "hi! foo-a-b"}))),
        (
            (),
            exp_debug(2, "task_result", exp_result("<uuid-2>", "call_sub", {"foo": "hi! foo-a-b"})),
        ),
    ]
    assert canon(chunks) == canon(expected)


@pytest.mark.parametrize(
    ("fn", "final"), [(call_sub, "hi! foo-a-b"), (call_sub_twice, "hi! foo-a-b-a-b")]
)
def test_invoked_subgraph_hidden_without_subgraphs(runner, fn, final):
    chunks = runner.stream(make_caller(fn), IN, stream_mode="updates")
    assert chunks == [{"node_1": {"foo": "hi! foo"}}, {fn.__name__: {"foo": final}}]


def test_second_call_in_same_task_appends_counter_to_namespace(runner):
    chunks = runner.stream(make_caller(call_sub_twice), IN, stream_mode="updates", subgraphs=True)
    first = ("call_sub_twice:<uuid-1>",)
    second = ("call_sub_twice:<uuid-1>", "1")
    expected = [
        ((), {"node_1": {"foo": "hi! foo"}}),
        (first, {"other_a": {"x": "hi! foo-a"}}),
        (first, {"other_b": {"x": "hi! foo-a-b"}}),
        (second, {"other_a": {"x": "hi! foo-a-b-a"}}),
        (second, {"other_b": {"x": "hi! foo-a-b-a-b"}}),
        ((), {"call_sub_twice": {"foo": "hi! foo-a-b-a-b"}}),
    ]
    assert canon(chunks) == canon(expected)


def test_second_call_values(runner):
    chunks = runner.stream(make_caller(call_sub_twice), IN, stream_mode="values", subgraphs=True)
    first = ("call_sub_twice:<uuid-1>",)
    second = ("call_sub_twice:<uuid-1>", "1")
    expected = [
        ((), {"foo": "foo"}),
        ((), {"foo": "hi! foo"}),
        (first, {"x": "hi! foo"}),
        (first, {"x": "hi! foo-a"}),
        (first, {"x": "hi! foo-a-b"}),
        (second, {"x": "hi! foo-a-b"}),
        (second, {"x": "hi! foo-a-b-a"}),
        (second, {"x": "hi! foo-a-b-a-b"}),
        ((), {"foo": "hi! foo-a-b-a-b"}),
    ]
    assert canon(chunks) == canon(expected)


def test_second_call_debug_restarts_steps_and_uses_new_task_ids(runner):
    chunks = runner.stream(make_caller(call_sub_twice), IN, stream_mode="debug", subgraphs=True)
    first = ("call_sub_twice:<uuid-2>",)
    second = ("call_sub_twice:<uuid-2>", "1")
    name = "call_sub_twice"
    expected = [
        ((), exp_debug(1, "task", exp_task("<uuid-1>", "node_1", {"foo": "foo"}))),
        ((), exp_debug(1, "task_result", exp_result("<uuid-1>", "node_1", {"foo": "hi! foo"}))),
        ((), exp_debug(2, "task", exp_task("<uuid-2>", name, {"foo": "hi! foo"}))),
        (first, exp_debug(1, "task", exp_task("<uuid-3>", "other_a", {"x": "hi! foo"}))),
        (first, exp_debug(1, "task_result", exp_result("<uuid-3>", "other_a", {"x": "hi! foo-a"}))),
        (first, exp_debug(2, "task", exp_task("<uuid-4>", "other_b", {"x": "hi! foo-a"}))),
        (
            first,
            exp_debug(2, "task_result", exp_result("<uuid-4>", "other_b", {"x": "hi! foo-a-b"})),
        ),
        (second, exp_debug(1, "task", exp_task("<uuid-5>", "other_a", {"x": "hi! foo-a-b"}))),
        (
            second,
            exp_debug(1, "task_result", exp_result("<uuid-5>", "other_a", {"x": "hi! foo-a-b-a"})),
        ),
        (second, exp_debug(2, "task", exp_task("<uuid-6>", "other_b", {"x": "hi! foo-a-b-a"}))),
        (
            second,
            exp_debug(
                2, "task_result", exp_result("<uuid-6>", "other_b", {"x": "hi! foo-a-b-a-b"})
            ),
        ),
        ((), exp_debug(2, "task_result", exp_result("<uuid-2>", name, {"foo": "hi! foo-a-b-a-b"}))),
    ]
    assert canon(chunks) == canon(expected)


def test_invoked_subgraph_checkpoints_and_updates(runner):
    t = "x"
    chunks = runner.stream(
        make_caller(call_sub, InMemorySaver()),
        IN,
        cfg(t),
        stream_mode=["checkpoints", "updates"],
        subgraphs=True,
    )
    sub_ns = "call_sub:<uuid-6>"
    ns = (sub_ns,)
    parents = {"": "<uuid-5>"}

    def sub_config(cid: str) -> dict:
        return exp_config(t, cid, ns=sub_ns, checkpoint_map={"": "<uuid-5>", sub_ns: cid})

    expected = [
        (
            (),
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-1>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-2>", "__start__")],
            ),
        ),
        (
            (),
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-3>"),
                exp_config(t, "<uuid-1>"),
                {"foo": "foo"},
                0,
                ["node_1"],
                [exp_cp_task("<uuid-4>", "node_1")],
            ),
        ),
        ((), "updates", {"node_1": {"foo": "hi! foo"}}),
        (
            (),
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-5>"),
                exp_config(t, "<uuid-3>"),
                {"foo": "hi! foo"},
                1,
                ["call_sub"],
                [
                    exp_cp_task(
                        "<uuid-6>",
                        "call_sub",
                        state={"configurable": {"thread_id": t, "checkpoint_ns": sub_ns}},
                    )
                ],
            ),
        ),
        (
            ns,
            "checkpoints",
            exp_checkpoint(
                sub_config("<uuid-7>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-8>", "__start__")],
                parents=parents,
            ),
        ),
        (
            ns,
            "checkpoints",
            exp_checkpoint(
                sub_config("<uuid-9>"),
                sub_config("<uuid-7>"),
                {"x": "hi! foo"},
                0,
                ["other_a"],
                [exp_cp_task("<uuid-10>", "other_a")],
                parents=parents,
            ),
        ),
        (ns, "updates", {"other_a": {"x": "hi! foo-a"}}),
        (
            ns,
            "checkpoints",
            exp_checkpoint(
                sub_config("<uuid-11>"),
                sub_config("<uuid-9>"),
                {"x": "hi! foo-a"},
                1,
                ["other_b"],
                [exp_cp_task("<uuid-12>", "other_b")],
                parents=parents,
            ),
        ),
        (ns, "updates", {"other_b": {"x": "hi! foo-a-b"}}),
        (
            ns,
            "checkpoints",
            exp_checkpoint(
                sub_config("<uuid-13>"),
                sub_config("<uuid-11>"),
                {"x": "hi! foo-a-b"},
                2,
                [],
                [],
                parents=parents,
            ),
        ),
        ((), "updates", {"call_sub": {"foo": "hi! foo-a-b"}}),
        (
            (),
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-14>"),
                exp_config(t, "<uuid-5>"),
                {"foo": "hi! foo-a-b"},
                2,
                [],
                [],
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)


# ---- nested two levels deep ----------------------------------------------------------------
class FooState(TypedDict):
    foo: str


def _suffix(tag: str):
    def node(state: FooState) -> dict:
        return {"foo": state["foo"] + "|" + tag}

    return node


def make_nested(checkpointer=None):
    gb = StateGraph(FooState)
    gb.add_node("grandchild_1", _suffix("grandchild"))
    gb.add_edge(START, "grandchild_1")
    cb = StateGraph(FooState)
    cb.add_node("child_1", _suffix("child"))
    cb.add_node("child_2", gb.compile())
    cb.add_edge(START, "child_1")
    cb.add_edge("child_1", "child_2")
    pb = StateGraph(FooState)
    pb.add_node("parent_1", _suffix("parent"))
    pb.add_node("parent_2", cb.compile())
    pb.add_edge(START, "parent_1")
    pb.add_edge("parent_1", "parent_2")
    return pb.compile(checkpointer=checkpointer)


NIN = {"foo": "x"}
P = "x|parent"
PC = "x|parent|child"
PCG = "x|parent|child|grandchild"


def test_nested_get_subgraphs_joins_namespaces_with_pipe():
    names = [name for name, _ in make_nested().get_subgraphs(recurse=True)]
    assert names == ["parent_2", "parent_2|child_2"]


def test_nested_updates(runner):
    chunks = runner.stream(make_nested(), NIN, stream_mode="updates", subgraphs=True)
    outer = ("parent_2:<uuid-1>",)
    inner = ("parent_2:<uuid-1>", "child_2:<uuid-2>")
    expected = [
        ((), {"parent_1": {"foo": P}}),
        (outer, {"child_1": {"foo": PC}}),
        (inner, {"grandchild_1": {"foo": PCG}}),
        (outer, {"child_2": {"foo": PCG}}),
        ((), {"parent_2": {"foo": PCG}}),
    ]
    assert canon(chunks) == canon(expected)


def test_nested_updates_without_subgraphs(runner):
    chunks = runner.stream(make_nested(), NIN, stream_mode="updates")
    assert chunks == [{"parent_1": {"foo": P}}, {"parent_2": {"foo": PCG}}]


def test_nested_values(runner):
    chunks = runner.stream(make_nested(), NIN, stream_mode="values", subgraphs=True)
    outer = ("parent_2:<uuid-1>",)
    inner = ("parent_2:<uuid-1>", "child_2:<uuid-2>")
    expected = [
        ((), {"foo": "x"}),
        ((), {"foo": P}),
        (outer, {"foo": P}),
        (outer, {"foo": PC}),
        (inner, {"foo": PC}),
        (inner, {"foo": PCG}),
        (outer, {"foo": PCG}),
        ((), {"foo": PCG}),
    ]
    assert canon(chunks) == canon(expected)


def test_nested_tasks_ids_link_namespaces(runner):
    chunks = runner.stream(make_nested(), NIN, stream_mode="tasks", subgraphs=True)
    outer = ("parent_2:<uuid-2>",)
    inner = ("parent_2:<uuid-2>", "child_2:<uuid-4>")
    expected = [
        ((), exp_task("<uuid-1>", "parent_1", {"foo": "x"})),
        ((), exp_result("<uuid-1>", "parent_1", {"foo": P})),
        ((), exp_task("<uuid-2>", "parent_2", {"foo": P})),
        (outer, exp_task("<uuid-3>", "child_1", {"foo": P})),
        (outer, exp_result("<uuid-3>", "child_1", {"foo": PC})),
        (outer, exp_task("<uuid-4>", "child_2", {"foo": PC})),
        (inner, exp_task("<uuid-5>", "grandchild_1", {"foo": PC})),
        (inner, exp_result("<uuid-5>", "grandchild_1", {"foo": PCG})),
        (outer, exp_result("<uuid-4>", "child_2", {"foo": PCG})),
        ((), exp_result("<uuid-2>", "parent_2", {"foo": PCG})),
    ]
    assert canon(chunks) == canon(expected)


def test_nested_mode_list(runner):
    chunks = runner.stream(make_nested(), NIN, stream_mode=["updates", "values"], subgraphs=True)
    outer = ("parent_2:<uuid-1>",)
    inner = ("parent_2:<uuid-1>", "child_2:<uuid-2>")
    expected = [
        ((), "values", {"foo": "x"}),
        ((), "updates", {"parent_1": {"foo": P}}),
        ((), "values", {"foo": P}),
        (outer, "values", {"foo": P}),
        (outer, "updates", {"child_1": {"foo": PC}}),
        (outer, "values", {"foo": PC}),
        (inner, "values", {"foo": PC}),
        (inner, "updates", {"grandchild_1": {"foo": PCG}}),
        (inner, "values", {"foo": PCG}),
        (outer, "updates", {"child_2": {"foo": PCG}}),
        (outer, "values", {"foo": PCG}),
        ((), "updates", {"parent_2": {"foo": PCG}}),
        ((), "values", {"foo": PCG}),
    ]
    assert canon(chunks) == canon(expected)


def test_nested_checkpoints(runner):
    t = "n"
    chunks = runner.stream(
        make_nested(InMemorySaver()), NIN, cfg(t), stream_mode="checkpoints", subgraphs=True
    )
    ns1 = "parent_2:<uuid-6>"
    ns2 = "parent_2:<uuid-6>|child_2:<uuid-12>"
    outer = (ns1,)
    inner = ("parent_2:<uuid-6>", "child_2:<uuid-12>")
    outer_parents = {"": "<uuid-5>"}
    inner_parents = {"": "<uuid-5>", ns1: "<uuid-11>"}

    def c1(cid: str) -> dict:
        return exp_config(t, cid, ns=ns1, checkpoint_map={"": "<uuid-5>", ns1: cid})

    def c2(cid: str) -> dict:
        return exp_config(
            t, cid, ns=ns2, checkpoint_map={"": "<uuid-5>", ns1: "<uuid-11>", ns2: cid}
        )

    expected = [
        (
            (),
            exp_checkpoint(
                exp_config(t, "<uuid-1>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-2>", "__start__")],
            ),
        ),
        (
            (),
            exp_checkpoint(
                exp_config(t, "<uuid-3>"),
                exp_config(t, "<uuid-1>"),
                {"foo": "x"},
                0,
                ["parent_1"],
                [exp_cp_task("<uuid-4>", "parent_1")],
            ),
        ),
        (
            (),
            exp_checkpoint(
                exp_config(t, "<uuid-5>"),
                exp_config(t, "<uuid-3>"),
                {"foo": P},
                1,
                ["parent_2"],
                [
                    exp_cp_task(
                        "<uuid-6>",
                        "parent_2",
                        state={"configurable": {"thread_id": t, "checkpoint_ns": ns1}},
                    )
                ],
            ),
        ),
        (
            outer,
            exp_checkpoint(
                c1("<uuid-7>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-8>", "__start__")],
                parents=outer_parents,
            ),
        ),
        (
            outer,
            exp_checkpoint(
                c1("<uuid-9>"),
                c1("<uuid-7>"),
                {"foo": P},
                0,
                ["child_1"],
                [exp_cp_task("<uuid-10>", "child_1")],
                parents=outer_parents,
            ),
        ),
        (
            outer,
            exp_checkpoint(
                c1("<uuid-11>"),
                c1("<uuid-9>"),
                {"foo": PC},
                1,
                ["child_2"],
                [
                    exp_cp_task(
                        "<uuid-12>",
                        "child_2",
                        state={"configurable": {"thread_id": t, "checkpoint_ns": ns2}},
                    )
                ],
                parents=outer_parents,
            ),
        ),
        (
            inner,
            exp_checkpoint(
                c2("<uuid-13>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-14>", "__start__")],
                parents=inner_parents,
            ),
        ),
        (
            inner,
            exp_checkpoint(
                c2("<uuid-15>"),
                c2("<uuid-13>"),
                {"foo": PC},
                0,
                ["grandchild_1"],
                [exp_cp_task("<uuid-16>", "grandchild_1")],
                parents=inner_parents,
            ),
        ),
        (
            inner,
            exp_checkpoint(
                c2("<uuid-17>"), c2("<uuid-15>"), {"foo": PCG}, 1, [], [], parents=inner_parents
            ),
        ),
        (
            outer,
            exp_checkpoint(
                c1("<uuid-18>"), c1("<uuid-11>"), {"foo": PCG}, 2, [], [], parents=outer_parents
            ),
        ),
        (
            (),
            exp_checkpoint(
                exp_config(t, "<uuid-19>"), exp_config(t, "<uuid-5>"), {"foo": PCG}, 2, [], []
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)
