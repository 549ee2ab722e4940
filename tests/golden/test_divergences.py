"""Deliberate differences between relaygraph and the reference (langgraph 1.2.22).

Tests marked ``divergence`` are skipped on reference runs (RELAYGRAPH_REFERENCE=1). The
unmarked tests pin the part of the behaviour both share, and pass on the reference too.
relaygraph-only names are imported inside the tests so that the module still imports
against the reference shim.
"""

from typing import TypedDict

import pytest

from relaygraph.graph import START, StateGraph


class XState(TypedDict):
    x: int


def _set_one(state: XState) -> dict:
    return {"x": 1}


def make_graph(calls: list | None = None):
    def node(state: XState) -> dict:
        if calls is not None:
            calls.append(state)
        return {"x": state["x"] + 1}

    b = StateGraph(XState)
    b.add_node("a", node)
    b.add_edge(START, "a")
    return b.compile()


# ---- unknown stream mode -------------------------------------------------------------------


@pytest.mark.divergence
@pytest.mark.parametrize("mode", ["bogus", ["values", "bogus"]], ids=["str", "in-list"])
def test_unknown_stream_mode_raises_before_anything_is_yielded(runner, mode):
    from relaygraph.errors import InvalidStreamArgumentError

    calls: list = []
    chunks, exc = runner.stream_until_error(make_graph(calls), {"x": 0}, stream_mode=mode)
    assert chunks == []
    assert calls == []  # no node ran
    assert isinstance(exc, InvalidStreamArgumentError)
    assert isinstance(exc, ValueError)
    assert "bogus" in str(exc)


def test_every_known_stream_mode_is_accepted(runner):
    # the unknown-mode check must not reject a mode the reference accepts, "tools" included
    modes = ["values", "updates", "checkpoints", "tasks", "debug", "messages", "custom", "tools"]
    chunks = runner.stream(make_graph(), {"x": 0}, stream_mode=modes)
    assert [m for m, _ in chunks] == [
        "values",
        "tasks",
        "debug",
        "updates",
        "tasks",
        "debug",
        "values",
    ]


# ---- unknown keyword arguments -------------------------------------------------------------


@pytest.mark.divergence
def test_unknown_kwarg_to_stream_raises_type_error(runner):
    calls: list = []
    chunks, exc = runner.stream_until_error(make_graph(calls), {"x": 0}, foo=1)
    assert chunks == []
    assert calls == []
    assert isinstance(exc, TypeError)
    assert "foo" in str(exc)


@pytest.mark.divergence
def test_unknown_kwarg_to_invoke_raises_type_error(runner):
    calls: list = []
    with pytest.raises(TypeError) as info:
        runner.invoke(make_graph(calls), {"x": 0}, not_a_param=True)
    assert "not_a_param" in str(info.value)
    assert calls == []


# ---- edges to unknown nodes ----------------------------------------------------------------


@pytest.mark.parametrize("source", [START, "a"])
def test_edge_to_unknown_node_fails_at_compile_naming_it(source):
    b = StateGraph(XState)
    b.add_node("a", _set_one)
    if source != START:
        b.add_edge(START, "a")
    b.add_edge(source, "missing_node")  # accepted here ...
    with pytest.raises(ValueError) as info:  # ... rejected at compile()
        b.compile()
    assert "missing_node" in str(info.value)


@pytest.mark.divergence
def test_edge_to_unknown_node_raises_unknown_node_error():
    from relaygraph.errors import UnknownNodeError

    b = StateGraph(XState)
    b.add_node("a", _set_one)
    b.add_edge(START, "a")
    b.add_edge("a", "missing_node")
    with pytest.raises(UnknownNodeError) as info:
        b.compile()
    assert isinstance(info.value, ValueError)
    assert "missing_node" in str(info.value)


# ---- node named like a state key -----------------------------------------------------------


@pytest.mark.divergence
def test_node_named_like_a_state_key_rejected_at_add_node():
    b = StateGraph(XState)
    with pytest.raises(ValueError) as info:
        b.add_node("x", _set_one)
    assert "x" in str(info.value)


# ---- non-mapping input ---------------------------------------------------------------------


@pytest.mark.divergence
@pytest.mark.parametrize(("value", "type_name"), [([1, 2], "list"), (5, "int")])
def test_non_mapping_input_raises_invalid_update_naming_the_type(runner, value, type_name):
    from relaygraph.errors import InvalidUpdateError

    calls: list = []
    chunks, exc = runner.stream_until_error(make_graph(calls), value, stream_mode="values")
    assert chunks == []
    assert calls == []
    assert isinstance(exc, InvalidUpdateError)
    assert type_name in str(exc)


@pytest.mark.parametrize("value", [[1, 2], 5])
def test_non_mapping_input_raises_invalid_update(runner, value):
    # shared with the reference: the error type, and nothing is streamed
    from relaygraph.errors import InvalidUpdateError

    chunks, exc = runner.stream_until_error(make_graph(), value, stream_mode="values")
    assert chunks == []
    assert isinstance(exc, InvalidUpdateError)
