"""Scenario s08: the other ``stream()`` parameters.

Pins down (STREAMING.md §11): ``print_mode``/``debug`` (print, chunks unchanged), ``output_keys``,
``interrupt_before``/``interrupt_after``, ``durability``, ``context``, ``version``, ``control``,
the graph's default ``stream_mode``, and relaygraph's deliberate argument checking.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import START, StateGraph
from relaygraph.runtime import Runtime
from relaygraph.types import Command

INPUT = {"topic": "ice cream"}
TOPIC = "ice cream and cats"
JOKE = "This is a joke about ice cream and cats"
BOLD = "\x1b[1m"
RESET = "\x1b[0m"

UPDATES = [{"refine_topic": {"topic": TOPIC}}, {"generate_joke": {"joke": JOKE}}]
VALUES = [INPUT, {"topic": TOPIC}, {"topic": TOPIC, "joke": JOKE}]


class State(TypedDict):
    topic: str
    joke: str


def refine_topic(state: State) -> dict[str, Any]:
    return {"topic": state["topic"] + " and cats"}


def generate_joke(state: State) -> dict[str, Any]:
    return {"joke": f"This is a joke about {state['topic']}"}


def two_node(checkpointer: Any = None, first: Any = refine_topic, **compile_kwargs: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("refine_topic", first)
    builder.add_node("generate_joke", generate_joke)
    builder.add_edge(START, "refine_topic")
    builder.add_edge("refine_topic", "generate_joke")
    return builder.compile(checkpointer=checkpointer, **compile_kwargs)


def cfg(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def printed(mode: str, value: Any) -> str:
    return f"{BOLD}[{mode}]{RESET} {value!r}"


# ---------------------------------------------------------------------------------------------
# print_mode / debug
# ---------------------------------------------------------------------------------------------


def test_print_mode_prints_but_does_not_change_chunks(runner, capsys):
    chunks = runner.stream(two_node(), INPUT, stream_mode="values", print_mode="updates")

    assert chunks == VALUES
    assert capsys.readouterr().out.splitlines() == [printed("updates", u) for u in UPDATES]


def test_print_mode_list_prints_each_mode_in_emission_order(runner, capsys):
    chunks = runner.stream(
        two_node(), INPUT, stream_mode="updates", print_mode=["values", "updates"]
    )

    assert chunks == UPDATES
    assert capsys.readouterr().out.splitlines() == [
        printed("values", VALUES[0]),
        printed("updates", UPDATES[0]),
        printed("values", VALUES[1]),
        printed("updates", UPDATES[1]),
        printed("values", VALUES[2]),
    ]


def test_debug_true_prints_updates_and_values(runner, capsys):
    chunks = runner.stream(two_node(), INPUT, stream_mode="updates", debug=True)

    assert chunks == UPDATES
    assert capsys.readouterr().out.splitlines() == [
        printed("values", VALUES[0]),
        printed("updates", UPDATES[0]),
        printed("values", VALUES[1]),
        printed("updates", UPDATES[1]),
        printed("values", VALUES[2]),
    ]


def test_compile_debug_true_prints_too(runner, capsys):
    chunks = runner.stream(two_node(debug=True), INPUT, stream_mode="updates")

    assert chunks == UPDATES
    out = capsys.readouterr().out.splitlines()
    assert out == [
        printed("values", VALUES[0]),
        printed("updates", UPDATES[0]),
        printed("values", VALUES[1]),
        printed("updates", UPDATES[1]),
        printed("values", VALUES[2]),
    ]


def test_no_print_without_print_mode(runner, capsys):
    runner.stream(two_node(), INPUT, stream_mode="updates")

    assert capsys.readouterr().out == ""


class SubS(TypedDict):
    topic: str


def test_print_mode_with_subgraphs_prints_graph_namespace(runner, capsys):
    sub = StateGraph(SubS)
    sub.add_node("sub_n", lambda state: {"topic": state["topic"] + "!"})
    sub.add_edge(START, "sub_n")
    parent = StateGraph(SubS)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")

    chunks = runner.stream(
        parent.compile(), {"topic": "t"}, stream_mode="values", print_mode="updates", subgraphs=True
    )

    assert [c for _, c in chunks] == [
        {"topic": "t"},
        {"topic": "t"},
        {"topic": "t!"},
        {"topic": "t!"},
    ]
    ns = chunks[1][0]
    assert [c[0] for c in chunks] == [(), ns, ns, ()]
    assert len(ns) == 1 and ns[0].startswith("child:")
    assert capsys.readouterr().out.splitlines() == [
        f"{BOLD}[updates]{RESET} \x1b[1;30;33m[graph={ns!r}]{RESET} {{'sub_n': {{'topic': 't!'}}}}",
        f"{BOLD}[updates]{RESET} {{'child': {{'topic': 't!'}}}}",
    ]


# ---------------------------------------------------------------------------------------------
# output_keys
# ---------------------------------------------------------------------------------------------


def test_output_keys_str_values_gives_bare_values_only_when_written(runner):
    chunks = runner.stream(two_node(), INPUT, stream_mode="values", output_keys="joke")

    assert chunks == [JOKE]


def test_output_keys_list_values_gives_dicts_only_when_written(runner):
    chunks = runner.stream(two_node(), INPUT, stream_mode="values", output_keys=["joke"])

    assert chunks == [{"joke": JOKE}]


def test_output_keys_list_with_values_and_updates(runner):
    chunks = runner.stream(
        two_node(), INPUT, stream_mode=["values", "updates"], output_keys=["topic"]
    )

    assert chunks == [
        ("values", {"topic": "ice cream"}),
        ("updates", {"refine_topic": {"topic": TOPIC}}),
        ("values", {"topic": TOPIC}),
        ("updates", {"generate_joke": None}),
    ]


def test_output_keys_str_updates_gives_bare_value_per_node(runner):
    chunks = runner.stream(two_node(), INPUT, stream_mode="updates", output_keys="joke")

    assert chunks == [{"refine_topic": None}, {"generate_joke": JOKE}]


def test_output_keys_unknown_key_raises(runner):
    chunks, exc = runner.stream_until_error(
        two_node(), INPUT, stream_mode="values", output_keys="nope"
    )

    assert chunks == []
    assert isinstance(exc, ValueError)
    assert str(exc) == "Key nope not in channels"


def test_invoke_output_keys(runner):
    assert runner.invoke(two_node(), INPUT, output_keys="joke") == JOKE
    assert runner.invoke(two_node(), INPUT, output_keys=["joke"]) == {"joke": JOKE}


# ---------------------------------------------------------------------------------------------
# interrupt_before / interrupt_after
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"interrupt_before": ["generate_joke"]}, {"interrupt_after": ["refine_topic"]}],
    ids=["before", "after"],
)
def test_static_breakpoint_stops_and_continues_with_none(runner, kwargs):
    graph = two_node(InMemorySaver())
    config = cfg("ib")

    first = runner.stream(graph, INPUT, config, stream_mode=["values", "updates"], **kwargs)
    assert first == [
        ("values", INPUT),
        ("updates", {"refine_topic": {"topic": TOPIC}}),
        ("values", {"topic": TOPIC}),
        ("updates", {"__interrupt__": ()}),
    ]
    snapshot = runner.get_state(graph, config)
    assert snapshot.next == ("generate_joke",)
    assert snapshot.interrupts == ()

    # The breakpoint argument is not repeated: the run goes on to the end.
    rest = runner.stream(graph, None, config, stream_mode=["values", "updates"])
    assert rest == [
        ("values", {"topic": TOPIC}),
        ("updates", {"generate_joke": {"joke": JOKE}}),
        ("values", {"topic": TOPIC, "joke": JOKE}),
    ]


def test_interrupt_before_star_stops_before_first_node(runner):
    graph = two_node(InMemorySaver())
    config = cfg("star")

    first = runner.stream(
        graph, INPUT, config, stream_mode=["values", "updates"], interrupt_before="*"
    )
    assert first == [("values", INPUT), ("updates", {"__interrupt__": ()})]
    assert runner.get_state(graph, config).next == ("refine_topic",)

    rest = runner.stream(graph, None, config, stream_mode=["values", "updates"])
    assert rest == [
        ("values", INPUT),
        ("updates", {"refine_topic": {"topic": TOPIC}}),
        ("values", {"topic": TOPIC}),
        ("updates", {"generate_joke": {"joke": JOKE}}),
        ("values", {"topic": TOPIC, "joke": JOKE}),
    ]


def test_interrupt_before_debug_stream_just_stops_after_checkpoint(runner):
    events = runner.stream(
        two_node(InMemorySaver()),
        INPUT,
        cfg("ibd"),
        stream_mode="debug",
        interrupt_before=["generate_joke"],
    )

    assert [(e["type"], e["step"]) for e in events] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
        ("checkpoint", 1),
    ]
    last = events[-1]["payload"]
    assert last["next"] == ["generate_joke"]
    (entry,) = last["tasks"]
    assert entry["name"] == "generate_joke"
    assert entry["interrupts"] == ()


def test_interrupt_before_tasks_and_checkpoints(runner):
    chunks = runner.stream(
        two_node(InMemorySaver()),
        INPUT,
        cfg("ibt"),
        stream_mode=["tasks", "checkpoints"],
        interrupt_before=["generate_joke"],
    )

    assert [mode for mode, _ in chunks] == [
        "checkpoints",
        "checkpoints",
        "tasks",
        "tasks",
        "checkpoints",
    ]
    assert chunks[2][1]["name"] == chunks[3][1]["name"] == "refine_topic"
    assert chunks[4][1]["next"] == ["generate_joke"]
    # No task event for the node behind the breakpoint.
    assert all(c["name"] != "generate_joke" for mode, c in chunks if mode == "tasks")


def test_command_resume_continues_past_static_breakpoint(runner):
    graph = two_node(InMemorySaver())
    config = cfg("ibr")
    runner.stream(graph, INPUT, config, stream_mode="updates", interrupt_before=["generate_joke"])

    chunks = runner.stream(graph, Command(resume="x"), config, stream_mode="updates")

    assert chunks == [{"generate_joke": {"joke": JOKE}}]


def test_interrupt_before_without_checkpointer(runner):
    chunks = runner.stream(
        two_node(), INPUT, stream_mode=["values", "updates"], interrupt_before=["generate_joke"]
    )

    assert chunks == [
        ("values", INPUT),
        ("updates", {"refine_topic": {"topic": TOPIC}}),
        ("values", {"topic": TOPIC}),
        ("updates", {"__interrupt__": ()}),
    ]


def test_interrupt_before_set_at_compile(runner):
    graph = two_node(InMemorySaver(), interrupt_before=["generate_joke"])
    config = cfg("cib")

    assert runner.stream(graph, INPUT, config, stream_mode="updates") == [
        {"refine_topic": {"topic": TOPIC}},
        {"__interrupt__": ()},
    ]
    assert runner.stream(graph, None, config, stream_mode="updates") == [
        {"generate_joke": {"joke": JOKE}},
    ]


def test_interrupt_after_set_at_compile(runner):
    graph = two_node(InMemorySaver(), interrupt_after=["refine_topic"])
    config = cfg("cia")

    assert runner.stream(graph, INPUT, config, stream_mode="updates") == [
        {"refine_topic": {"topic": TOPIC}},
        {"__interrupt__": ()},
    ]
    assert runner.get_state(graph, config).next == ("generate_joke",)


# ---------------------------------------------------------------------------------------------
# durability
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["sync", "async"])
def test_durability_sync_and_async_stream_and_persist_every_step(runner, durability):
    graph = two_node(InMemorySaver())
    config = cfg(f"d-{durability}")

    chunks = runner.stream(
        graph, INPUT, config, stream_mode=["checkpoints", "updates"], durability=durability
    )

    assert [mode for mode, _ in chunks] == [
        "checkpoints",
        "checkpoints",
        "updates",
        "checkpoints",
        "updates",
        "checkpoints",
    ]
    checkpoints = [c for mode, c in chunks if mode == "checkpoints"]
    ids = [c["config"]["configurable"]["checkpoint_id"] for c in checkpoints]
    assert checkpoints[0]["parent_config"] is None
    assert [c["parent_config"]["configurable"]["checkpoint_id"] for c in checkpoints[1:]] == ids[
        :-1
    ]
    assert [c["metadata"]["step"] for c in checkpoints] == [-1, 0, 1, 2]
    assert len(runner.get_state_history(graph, config)) == 4


def test_durability_exit_streams_every_step_without_parents_and_persists_one(runner):
    graph = two_node(InMemorySaver())
    config = cfg("d-exit")

    chunks = runner.stream(
        graph, INPUT, config, stream_mode=["checkpoints", "updates"], durability="exit"
    )

    checkpoints = [c for mode, c in chunks if mode == "checkpoints"]
    assert [c["metadata"]["step"] for c in checkpoints] == [-1, 0, 1, 2]
    assert all(c["parent_config"] is None for c in checkpoints)
    assert [c["values"] for c in checkpoints] == [
        {},
        INPUT,
        {"topic": TOPIC},
        {"topic": TOPIC, "joke": JOKE},
    ]
    assert [c for mode, c in chunks if mode == "updates"] == UPDATES
    history = runner.get_state_history(graph, config)
    assert len(history) == 1
    assert history[0].values == {"topic": TOPIC, "joke": JOKE}


@pytest.mark.parametrize("durability", ["async", "exit"])
def test_durability_without_checkpointer_warns_and_streams(runner, durability):
    with pytest.warns(
        UserWarning, match="`durability` has no effect when no checkpointer is present."
    ):
        chunks = runner.stream(two_node(), INPUT, stream_mode="updates", durability=durability)

    assert chunks == UPDATES


@pytest.mark.divergence
def test_durability_sync_without_checkpointer_streams_normally(runner):
    # The reference crashes here (AttributeError); relaygraph just runs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chunks = runner.stream(two_node(), INPUT, stream_mode="updates", durability="sync")

    assert chunks == UPDATES


def test_checkpoint_during_false_is_deprecated_and_means_exit(runner):
    graph = two_node(InMemorySaver())
    config = cfg("cd")

    with pytest.warns(DeprecationWarning, match="`checkpoint_during` is deprecated"):
        chunks = runner.stream(
            graph, INPUT, config, stream_mode="checkpoints", checkpoint_during=False
        )

    assert len(chunks) == 4
    assert all(c["parent_config"] is None for c in chunks)
    assert len(runner.get_state_history(graph, config)) == 1


# ---------------------------------------------------------------------------------------------
# context
# ---------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    user: str


class CState(TypedDict):
    out: str


def _context_graph() -> Any:
    def uses_ctx(state: CState, runtime: Runtime[Ctx]) -> dict[str, Any]:
        assert isinstance(runtime.context, Ctx)
        return {"out": f"hello {runtime.context.user}"}

    builder = StateGraph(CState, context_schema=Ctx)
    builder.add_node("uses_ctx", uses_ctx)
    builder.add_edge(START, "uses_ctx")
    return builder.compile()


def test_context_dataclass_reaches_runtime(runner):
    chunks = runner.stream(
        _context_graph(), {"out": ""}, stream_mode="updates", context=Ctx(user="bob")
    )

    assert chunks == [{"uses_ctx": {"out": "hello bob"}}]


def test_context_dict_is_coerced_to_context_schema(runner):
    chunks = runner.stream(
        _context_graph(), {"out": ""}, stream_mode="updates", context={"user": "dict-bob"}
    )

    assert chunks == [{"uses_ctx": {"out": "hello dict-bob"}}]


# ---------------------------------------------------------------------------------------------
# version, default stream_mode, control, config
# ---------------------------------------------------------------------------------------------


def test_version_v1_explicit_equals_default(runner):
    graph = two_node()

    assert runner.stream(graph, INPUT, stream_mode="updates", version="v1") == UPDATES
    assert runner.stream(graph, INPUT, stream_mode="updates") == UPDATES


def test_version_v2_wraps_every_part(runner):
    chunks = runner.stream(two_node(), INPUT, stream_mode="updates", version="v2")

    assert chunks == [{"type": "updates", "ns": (), "data": u} for u in UPDATES]


def test_default_stream_mode_is_graph_attribute(runner):
    graph = two_node()
    assert graph.stream_mode == "updates"
    assert runner.stream(graph, INPUT) == UPDATES

    graph.stream_mode = "values"
    assert runner.stream(graph, INPUT) == VALUES


def test_control_drain_stops_after_current_step(runner):
    from relaygraph.errors import GraphDrained
    from relaygraph.runtime import RunControl

    ctl = RunControl()

    def drain_in_node(state: State) -> dict[str, Any]:
        ctl.request_drain("test-drain")
        return refine_topic(state)

    chunks, exc = runner.stream_until_error(
        two_node(first=drain_in_node), INPUT, stream_mode=["values", "updates"], control=ctl
    )

    assert chunks == [
        ("values", INPUT),
        ("updates", {"refine_topic": {"topic": TOPIC}}),
        ("values", {"topic": TOPIC}),
    ]
    assert isinstance(exc, GraphDrained)
    assert str(exc) == "Graph drained: test-drain"


def test_control_drain_with_checkpointer_can_continue(runner):
    from relaygraph.errors import GraphDrained
    from relaygraph.runtime import RunControl

    ctl = RunControl()

    def drain_in_node(state: State) -> dict[str, Any]:
        ctl.request_drain("test-drain")
        return refine_topic(state)

    graph = two_node(InMemorySaver(), first=drain_in_node)
    config = cfg("drain")
    _, exc = runner.stream_until_error(
        graph, INPUT, config, stream_mode=["values", "updates"], control=ctl
    )
    assert isinstance(exc, GraphDrained)
    assert runner.get_state(graph, config).next == ("generate_joke",)

    rest = runner.stream(
        graph, None, config, stream_mode=["values", "updates"], control=RunControl()
    )
    assert rest == [
        ("values", {"topic": TOPIC}),
        ("updates", {"generate_joke": {"joke": JOKE}}),
        ("values", {"topic": TOPIC, "joke": JOKE}),
    ]


@pytest.mark.parametrize(
    "config", [None, {"configurable": {}}], ids=["no_config", "empty_configurable"]
)
def test_checkpointer_without_thread_id_raises_before_yielding(runner, config):
    chunks, exc = runner.stream_until_error(
        two_node(InMemorySaver()), INPUT, config, stream_mode="values"
    )

    assert chunks == []
    assert isinstance(exc, ValueError)
    assert str(exc) == (
        "Checkpointer requires one or more of the following 'configurable' keys: "
        "thread_id, checkpoint_ns, checkpoint_id"
    )


# ---------------------------------------------------------------------------------------------
# relaygraph's deliberate argument checking
# ---------------------------------------------------------------------------------------------


@pytest.mark.divergence
def test_unknown_stream_mode_raises(runner):
    from relaygraph.errors import InvalidStreamArgumentError

    chunks, exc = runner.stream_until_error(two_node(), INPUT, stream_mode="bogus")

    assert chunks == []
    assert isinstance(exc, InvalidStreamArgumentError)
    assert isinstance(exc, ValueError)


@pytest.mark.divergence
def test_unknown_stream_mode_in_list_raises(runner):
    from relaygraph.errors import InvalidStreamArgumentError

    chunks, exc = runner.stream_until_error(two_node(), INPUT, stream_mode=["updates", "bogus"])

    assert chunks == []
    assert isinstance(exc, InvalidStreamArgumentError)


@pytest.mark.divergence
def test_unknown_keyword_argument_raises_type_error(runner):
    chunks, exc = runner.stream_until_error(two_node(), INPUT, foo=1)

    assert chunks == []
    assert isinstance(exc, TypeError)


@pytest.mark.divergence
def test_unknown_version_raises_value_error(runner):
    chunks, exc = runner.stream_until_error(two_node(), INPUT, stream_mode="updates", version="v3")

    assert chunks == []
    assert isinstance(exc, ValueError)
