"""s01: the two-node graph (refine_topic -> generate_joke) in every stream mode.

Facts: STREAMING.md §1-§3, §6-§8 and golden-library/s01_two_node.normalized.txt.
"""

import re
from typing import TypedDict

import pytest

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import END, START, StateGraph
from tests.helpers import (
    canon,
    exp_checkpoint,
    exp_config,
    exp_cp_task,
    exp_debug,
    exp_result,
    exp_task,
)


class JokeState(TypedDict):
    topic: str
    joke: str


def _refine(state: JokeState) -> dict:
    return {"topic": state["topic"] + " and cats"}


def _joke(state: JokeState) -> dict:
    return {"joke": f"This is a joke about {state['topic']}"}


def make_graph(checkpointer=None):
    builder = StateGraph(JokeState)
    builder.add_node("refine_topic", _refine)
    builder.add_node("generate_joke", _joke)
    builder.add_edge(START, "refine_topic")
    builder.add_edge("refine_topic", "generate_joke")
    builder.add_edge("generate_joke", END)
    return builder.compile(checkpointer=checkpointer)


IN = {"topic": "ice cream"}
T1 = "ice cream and cats"
J1 = "This is a joke about ice cream and cats"
V0 = {"topic": "ice cream"}
V1 = {"topic": T1}
V2 = {"topic": T1, "joke": J1}
U1 = {"refine_topic": {"topic": T1}}
U2 = {"generate_joke": {"joke": J1}}


def cfg(thread: str = "t1") -> dict:
    return {"configurable": {"thread_id": thread}}


def tasks_expected(a: str = "<uuid-1>", b: str = "<uuid-2>") -> list:
    return [
        exp_task(a, "refine_topic", V0),
        exp_result(a, "refine_topic", V1),
        exp_task(b, "generate_joke", V1),
        exp_result(b, "generate_joke", {"joke": J1}),
    ]


# ---- defaults ----------------------------------------------------------------------------


def test_compiled_graph_default_stream_mode_attribute_is_updates():
    assert make_graph().stream_mode == "updates"


def test_stream_without_stream_mode_gives_updates(runner):
    assert runner.stream(make_graph(), IN) == [U1, U2]


def test_stream_mode_none_gives_updates(runner):
    assert runner.stream(make_graph(), IN, stream_mode=None) == [U1, U2]


# ---- single modes, no checkpointer -------------------------------------------------------


def test_values_mode(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="values")
    assert chunks == [V0, V1, V2]
    assert all(type(c) is dict for c in chunks)
    assert [list(c) for c in chunks] == [["topic"], ["topic"], ["topic", "joke"]]


def test_updates_mode(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="updates")
    assert chunks == [U1, U2]
    assert all(type(c) is dict and len(c) == 1 for c in chunks)


@pytest.mark.parametrize("mode", ["custom", "messages", "tools", "checkpoints"])
def test_modes_with_nothing_to_report_yield_nothing(runner, mode):
    # no writer calls, no messages, no tools, and no checkpointer
    assert runner.stream(make_graph(), IN, stream_mode=mode) == []


def test_tasks_mode(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="tasks")
    assert canon(chunks) == canon(tasks_expected())


def test_tasks_start_and_result_share_the_task_id(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="tasks")
    assert chunks[0]["id"] == chunks[1]["id"]
    assert chunks[2]["id"] == chunks[3]["id"]
    assert chunks[0]["id"] != chunks[2]["id"]
    assert isinstance(chunks[0]["triggers"], tuple)
    assert isinstance(chunks[1]["interrupts"], list)


def test_debug_mode_without_checkpointer_has_only_task_events(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="debug")
    a, b = "<uuid-1>", "<uuid-2>"
    expected = [
        exp_debug(1, "task", exp_task(a, "refine_topic", V0)),
        exp_debug(1, "task_result", exp_result(a, "refine_topic", V1)),
        exp_debug(2, "task", exp_task(b, "generate_joke", V1)),
        exp_debug(2, "task_result", exp_result(b, "generate_joke", {"joke": J1})),
    ]
    assert canon(chunks) == canon(expected)


def test_debug_timestamp_is_iso_utc_with_microseconds(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="debug")
    for c in chunks:
        assert list(c) == ["step", "timestamp", "type", "payload"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", c["timestamp"])


# ---- mode lists and their shapes -----------------------------------------------------------


def test_mode_list_tags_each_chunk_with_its_mode(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["updates", "custom"])
    assert chunks == [("updates", U1), ("updates", U2)]
    assert all(type(c) is tuple and len(c) == 2 for c in chunks)


def test_single_element_list_still_tags(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["values"])
    assert chunks == [("values", V0), ("values", V1), ("values", V2)]


def test_duplicate_modes_in_list_collapse(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["values", "values"])
    assert chunks == [("values", V0), ("values", V1), ("values", V2)]


def test_list_order_does_not_change_emission_order(runner):
    expected = [("values", V0), ("updates", U1), ("values", V1), ("updates", U2), ("values", V2)]
    assert runner.stream(make_graph(), IN, stream_mode=["updates", "values"]) == expected
    assert runner.stream(make_graph(), IN, stream_mode=["values", "updates"]) == expected


def test_values_updates_debug_interleaving(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["values", "updates", "debug"])
    a, b = "<uuid-1>", "<uuid-2>"
    expected = [
        ("values", V0),
        ("debug", exp_debug(1, "task", exp_task(a, "refine_topic", V0))),
        ("updates", U1),
        ("debug", exp_debug(1, "task_result", exp_result(a, "refine_topic", V1))),
        ("values", V1),
        ("debug", exp_debug(2, "task", exp_task(b, "generate_joke", V1))),
        ("updates", U2),
        ("debug", exp_debug(2, "task_result", exp_result(b, "generate_joke", {"joke": J1}))),
        ("values", V2),
    ]
    assert canon(chunks) == canon(expected)


def test_tasks_and_checkpoints_without_checkpointer(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["tasks", "checkpoints"])
    assert canon(chunks) == canon([("tasks", t) for t in tasks_expected()])


def test_tasks_come_before_debug_for_the_same_event(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=["debug", "tasks", "checkpoints"])
    a, b = "<uuid-1>", "<uuid-2>"
    expected = [
        ("tasks", exp_task(a, "refine_topic", V0)),
        ("debug", exp_debug(1, "task", exp_task(a, "refine_topic", V0))),
        ("tasks", exp_result(a, "refine_topic", V1)),
        ("debug", exp_debug(1, "task_result", exp_result(a, "refine_topic", V1))),
        ("tasks", exp_task(b, "generate_joke", V1)),
        ("debug", exp_debug(2, "task", exp_task(b, "generate_joke", V1))),
        ("tasks", exp_result(b, "generate_joke", {"joke": J1})),
        ("debug", exp_debug(2, "task_result", exp_result(b, "generate_joke", {"joke": J1}))),
    ]
    assert canon(chunks) == canon(expected)


def test_tuple_stream_mode_streams_both_modes_untagged(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode=("values", "updates"))
    assert chunks == [V0, U1, V1, U2, V2]


def test_empty_mode_list_yields_nothing(runner):
    assert runner.stream(make_graph(), IN, stream_mode=[]) == []


# ---- invoke ------------------------------------------------------------------------------


def test_invoke_returns_final_values(runner):
    out = runner.invoke(make_graph(), IN)
    assert out == V2
    assert type(out) is dict


def test_invoke_equals_last_values_chunk(runner):
    graph = make_graph()
    assert runner.invoke(graph, IN) == runner.stream(graph, IN, stream_mode="values")[-1]


def test_invoke_with_updates_mode_returns_list_of_chunks(runner):
    assert runner.invoke(make_graph(), IN, stream_mode="updates") == [U1, U2]


def test_invoke_with_mode_list_returns_tagged_chunks(runner):
    out = runner.invoke(make_graph(), IN, stream_mode=["updates", "values"])
    assert out == [("values", V0), ("updates", U1), ("values", V1), ("updates", U2), ("values", V2)]


# ---- with a checkpointer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("values", [V0, V1, V2]), ("updates", [U1, U2])],
)
def test_checkpointer_does_not_change_values_or_updates(runner, mode, expected):
    graph = make_graph(InMemorySaver())
    assert runner.stream(graph, IN, cfg(), stream_mode=mode) == expected


def test_checkpointer_does_not_change_tasks(runner):
    chunks = runner.stream(make_graph(InMemorySaver()), IN, cfg(), stream_mode="tasks")
    assert canon(chunks) == canon(tasks_expected())


def _checkpoints_of_first_run(thread: str = "t1") -> list:
    return [
        exp_checkpoint(
            exp_config(thread, "<uuid-1>"),
            None,
            {},
            -1,
            ["__start__"],
            [exp_cp_task("<uuid-2>", "__start__")],
        ),
        exp_checkpoint(
            exp_config(thread, "<uuid-3>"),
            exp_config(thread, "<uuid-1>"),
            V0,
            0,
            ["refine_topic"],
            [exp_cp_task("<uuid-4>", "refine_topic")],
        ),
        exp_checkpoint(
            exp_config(thread, "<uuid-5>"),
            exp_config(thread, "<uuid-3>"),
            V1,
            1,
            ["generate_joke"],
            [exp_cp_task("<uuid-6>", "generate_joke")],
        ),
        exp_checkpoint(
            exp_config(thread, "<uuid-7>"), exp_config(thread, "<uuid-5>"), V2, 2, [], []
        ),
    ]


def test_checkpoints_mode(runner):
    chunks = runner.stream(make_graph(InMemorySaver()), IN, cfg(), stream_mode="checkpoints")
    assert canon(chunks) == canon(_checkpoints_of_first_run())


def test_checkpoint_payload_key_order(runner):
    chunks = runner.stream(make_graph(InMemorySaver()), IN, cfg(), stream_mode="checkpoints")
    for c in chunks:
        assert list(c) == ["config", "parent_config", "values", "metadata", "next", "tasks"]
        assert list(c["metadata"]) == ["source", "step", "parents"]
    assert [c["metadata"]["step"] for c in chunks] == [-1, 0, 1, 2]
    assert [c["metadata"]["source"] for c in chunks] == ["input", "loop", "loop", "loop"]


def test_debug_mode_with_checkpointer(runner):
    chunks = runner.stream(make_graph(InMemorySaver()), IN, cfg(), stream_mode="debug")
    cps = _checkpoints_of_first_run()
    # pending task ids in checkpoints are the ids of the tasks that run next
    expected = [
        exp_debug(-1, "checkpoint", cps[0]),
        exp_debug(0, "checkpoint", cps[1]),
        exp_debug(1, "task", exp_task("<uuid-4>", "refine_topic", V0)),
        exp_debug(1, "task_result", exp_result("<uuid-4>", "refine_topic", V1)),
        exp_debug(1, "checkpoint", cps[2]),
        exp_debug(2, "task", exp_task("<uuid-6>", "generate_joke", V1)),
        exp_debug(2, "task_result", exp_result("<uuid-6>", "generate_joke", {"joke": J1})),
        exp_debug(2, "checkpoint", cps[3]),
    ]
    assert canon(chunks) == canon(expected)


def test_full_ordering_with_checkpointer(runner):
    graph = make_graph(InMemorySaver())
    chunks = runner.stream(graph, IN, cfg(), stream_mode=["values", "updates", "debug"])
    cps = _checkpoints_of_first_run()
    expected = [
        ("debug", exp_debug(-1, "checkpoint", cps[0])),
        ("values", V0),
        ("debug", exp_debug(0, "checkpoint", cps[1])),
        ("debug", exp_debug(1, "task", exp_task("<uuid-4>", "refine_topic", V0))),
        ("updates", U1),
        ("debug", exp_debug(1, "task_result", exp_result("<uuid-4>", "refine_topic", V1))),
        ("values", V1),
        ("debug", exp_debug(1, "checkpoint", cps[2])),
        ("debug", exp_debug(2, "task", exp_task("<uuid-6>", "generate_joke", V1))),
        ("updates", U2),
        (
            "debug",
            exp_debug(2, "task_result", exp_result("<uuid-6>", "generate_joke", {"joke": J1})),
        ),
        ("values", V2),
        ("debug", exp_debug(2, "checkpoint", cps[3])),
    ]
    assert canon(chunks) == canon(expected)


def test_second_run_on_same_thread_continues_step_count(runner):
    graph = make_graph(InMemorySaver())
    runner.stream(graph, IN, cfg(), stream_mode="values")
    last_id = runner.get_state(graph, cfg()).config["configurable"]["checkpoint_id"]
    chunks = runner.stream(
        graph, {"topic": "dogs"}, cfg(), stream_mode=["values", "updates", "checkpoints"]
    )
    t, j_old = "t1", J1
    expected = [
        (
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-1>"),
                exp_config(t, "<uuid-2>"),
                V2,
                3,
                ["__start__"],
                [exp_cp_task("<uuid-3>", "__start__")],
                source="input",
            ),
        ),
        ("values", {"topic": "dogs", "joke": j_old}),
        (
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-4>"),
                exp_config(t, "<uuid-1>"),
                {"topic": "dogs", "joke": j_old},
                4,
                ["refine_topic"],
                [exp_cp_task("<uuid-5>", "refine_topic")],
            ),
        ),
        ("updates", {"refine_topic": {"topic": "dogs and cats"}}),
        ("values", {"topic": "dogs and cats", "joke": j_old}),
        (
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-6>"),
                exp_config(t, "<uuid-4>"),
                {"topic": "dogs and cats", "joke": j_old},
                5,
                ["generate_joke"],
                [exp_cp_task("<uuid-7>", "generate_joke")],
            ),
        ),
        ("updates", {"generate_joke": {"joke": "This is a joke about dogs and cats"}}),
        ("values", {"topic": "dogs and cats", "joke": "This is a joke about dogs and cats"}),
        (
            "checkpoints",
            exp_checkpoint(
                exp_config(t, "<uuid-8>"),
                exp_config(t, "<uuid-6>"),
                {"topic": "dogs and cats", "joke": "This is a joke about dogs and cats"},
                6,
                [],
                [],
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)
    # the new run's input checkpoint hangs off the previous run's last checkpoint
    assert chunks[0][1]["parent_config"]["configurable"]["checkpoint_id"] == last_id


def test_none_input_on_finished_thread_replays_current_state_only(runner):
    graph = make_graph(InMemorySaver())
    runner.stream(graph, IN, cfg(), stream_mode="values")
    state = runner.get_state(graph, cfg())
    cp_id = state.config["configurable"]["checkpoint_id"]
    parent_id = state.parent_config["configurable"]["checkpoint_id"]
    chunks = runner.stream(graph, None, cfg(), stream_mode=["values", "updates", "debug"])
    expected = [
        ("values", V2),
        (
            "debug",
            exp_debug(
                2,
                "checkpoint",
                exp_checkpoint(
                    exp_config("t1", cp_id),
                    # a stored parent config keeps the stored key order
                    {
                        "configurable": {
                            "thread_id": "t1",
                            "checkpoint_ns": "",
                            "checkpoint_id": parent_id,
                        }
                    },
                    V2,
                    2,
                    [],
                    [],
                ),
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)


CHECKPOINTER_KEYS_MSG = (
    "Checkpointer requires one or more of the following 'configurable' keys: "
    "thread_id, checkpoint_ns, checkpoint_id"
)


@pytest.mark.parametrize("config", [None, {"configurable": {}}], ids=["no-config", "empty"])
def test_checkpointer_without_thread_id_raises_before_yielding(runner, config):
    chunks, exc = runner.stream_until_error(
        make_graph(InMemorySaver()), IN, config, stream_mode="values"
    )
    assert chunks == []
    assert type(exc) is ValueError
    assert str(exc) == CHECKPOINTER_KEYS_MSG
