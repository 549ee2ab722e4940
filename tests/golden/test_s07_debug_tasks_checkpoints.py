"""Scenario s07: exact payloads of the ``debug``, ``tasks`` and ``checkpoints`` modes.

Pins down (STREAMING.md §6, §7, §8): key order and Python types, steps, task metadata,
private channels, error objects vs. error strings, channel defaults, cache hits, interrupts,
Send tasks and subgraph checkpoints.
"""

from __future__ import annotations

import operator
import re
from typing import Annotated, Any, TypedDict

import pytest

from relaygraph.cache.memory import InMemoryCache
from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.errors import InvalidUpdateError
from relaygraph.graph import START, StateGraph
from relaygraph.types import CachePolicy, Command, Send, interrupt
from tests.helpers import canon

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00")

DEBUG_KEYS = ["step", "timestamp", "type", "payload"]
CHECKPOINT_KEYS = ["config", "parent_config", "values", "metadata", "next", "tasks"]
TASK_START_KEYS = ["id", "name", "input", "triggers"]
TASK_RESULT_KEYS = ["id", "name", "error", "result", "interrupts"]
PENDING_TASK_KEYS = ["id", "name", "interrupts", "state"]
JOKE = "This is a joke about ice cream and cats"
INPUT = {"topic": "ice cream"}


class State(TypedDict):
    topic: str
    joke: str


def refine_topic(state: State) -> dict[str, Any]:
    return {"topic": state["topic"] + " and cats"}


def generate_joke(state: State) -> dict[str, Any]:
    return {"joke": f"This is a joke about {state['topic']}"}


def two_node(checkpointer: Any = None, **node_kwargs: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("refine_topic", refine_topic, **node_kwargs)
    builder.add_node("generate_joke", generate_joke)
    builder.add_edge(START, "refine_topic")
    builder.add_edge("refine_topic", "generate_joke")
    return builder.compile(checkpointer=checkpointer)


def cfg(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, **extra}


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(UUID, value) is not None


# ---------------------------------------------------------------------------------------------
# debug: keys, types and sequence
# ---------------------------------------------------------------------------------------------


def test_debug_event_keys_and_types_with_checkpointer(runner):
    events = runner.stream(two_node(InMemorySaver()), INPUT, cfg("k"), stream_mode="debug")

    assert [e["type"] for e in events] == [
        "checkpoint",
        "checkpoint",
        "task",
        "task_result",
        "checkpoint",
        "task",
        "task_result",
        "checkpoint",
    ]
    for ev in events:
        assert type(ev) is dict
        assert list(ev) == DEBUG_KEYS
        assert type(ev["step"]) is int
        assert type(ev["timestamp"]) is str
        assert TIMESTAMP.fullmatch(ev["timestamp"]), ev["timestamp"]
        payload = ev["payload"]
        assert type(payload) is dict
        if ev["type"] == "checkpoint":
            assert list(payload) == CHECKPOINT_KEYS
            assert type(payload["config"]) is dict
            assert type(payload["values"]) is dict
            assert type(payload["metadata"]) is dict
            assert type(payload["next"]) is list
            assert type(payload["tasks"]) is list
            assert list(payload["metadata"]) == ["source", "step", "parents"]
            for entry in payload["tasks"]:
                assert list(entry) == PENDING_TASK_KEYS
                assert type(entry["interrupts"]) is tuple
        elif ev["type"] == "task":
            assert list(payload) == TASK_START_KEYS
            assert type(payload["id"]) is str and is_uuid(payload["id"])
            assert type(payload["input"]) is dict
            assert type(payload["triggers"]) is tuple
        else:
            assert list(payload) == TASK_RESULT_KEYS
            assert payload["error"] is None
            assert type(payload["result"]) is dict
            assert type(payload["interrupts"]) is list
    assert events[0]["payload"]["parent_config"] is None
    assert all(
        type(e["payload"]["parent_config"]) is dict for e in events[1:] if e["type"] == "checkpoint"
    )
    assert events[-1]["payload"]["tasks"] == []


def test_debug_steps_with_checkpointer(runner):
    events = runner.stream(two_node(InMemorySaver()), INPUT, cfg("k"), stream_mode="debug")

    assert [(e["type"], e["step"]) for e in events] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
        ("checkpoint", 1),
        ("task", 2),
        ("task_result", 2),
        ("checkpoint", 2),
    ]
    checkpoints = [e for e in events if e["type"] == "checkpoint"]
    assert [e["payload"]["metadata"]["step"] for e in checkpoints] == [-1, 0, 1, 2]


def test_debug_without_checkpointer_has_no_checkpoint_events(runner):
    events = runner.stream(two_node(), INPUT, stream_mode="debug")

    assert [(e["type"], e["step"]) for e in events] == [
        ("task", 1),
        ("task_result", 1),
        ("task", 2),
        ("task_result", 2),
    ]
    assert [e["payload"]["name"] for e in events] == [
        "refine_topic",
        "refine_topic",
        "generate_joke",
        "generate_joke",
    ]
    assert events[0]["payload"]["id"] == events[1]["payload"]["id"]
    assert events[2]["payload"]["id"] != events[0]["payload"]["id"]


def test_debug_payloads_equal_tasks_and_checkpoints_in_order(runner):
    chunks = runner.stream(
        two_node(InMemorySaver()), INPUT, cfg("k"), stream_mode=["debug", "tasks", "checkpoints"]
    )

    debug = [c for mode, c in chunks if mode == "debug"]
    others = [(mode, c) for mode, c in chunks if mode != "debug"]
    assert len(debug) == len(others) == 8
    for ev, (mode, payload) in zip(debug, others, strict=True):
        assert ev["payload"] == payload
        assert (ev["type"] == "checkpoint") == (mode == "checkpoints")
    # 'tasks' comes before 'debug' for the same task; 'checkpoints' before 'debug'.
    modes = [mode for mode, _ in chunks]
    assert (
        modes
        == ["checkpoints", "debug"] * 2 + (["tasks", "debug"] * 2 + ["checkpoints", "debug"]) * 2
    )


def test_debug_checkpoint_payload_exact(runner):
    events = runner.stream(two_node(InMemorySaver()), INPUT, cfg("k"), stream_mode="debug")

    def conf(checkpoint_id: str) -> dict[str, Any]:
        return {
            "configurable": {"checkpoint_ns": "", "thread_id": "k", "checkpoint_id": checkpoint_id}
        }

    assert canon(events[:3]) == canon(
        [
            {
                "step": -1,
                "timestamp": "<ts>",
                "type": "checkpoint",
                "payload": {
                    "config": conf("<uuid-1>"),
                    "parent_config": None,
                    "values": {},
                    "metadata": {"source": "input", "step": -1, "parents": {}},
                    "next": ["__start__"],
                    "tasks": [
                        {"id": "<uuid-2>", "name": "__start__", "interrupts": (), "state": None}
                    ],
                },
            },
            {
                "step": 0,
                "timestamp": "<ts>",
                "type": "checkpoint",
                "payload": {
                    "config": conf("<uuid-3>"),
                    "parent_config": conf("<uuid-1>"),
                    "values": {"topic": "ice cream"},
                    "metadata": {"source": "loop", "step": 0, "parents": {}},
                    "next": ["refine_topic"],
                    "tasks": [
                        {"id": "<uuid-4>", "name": "refine_topic", "interrupts": (), "state": None}
                    ],
                },
            },
            {
                "step": 1,
                "timestamp": "<ts>",
                "type": "task",
                "payload": {
                    "id": "<uuid-4>",
                    "name": "refine_topic",
                    "input": {"topic": "ice cream"},
                    "triggers": ("branch:to:refine_topic",),
                },
            },
        ]
    )


# ---------------------------------------------------------------------------------------------
# tasks: metadata key on start events
# ---------------------------------------------------------------------------------------------


def test_task_start_metadata_from_run_config(runner):
    chunks = runner.stream(
        two_node(),
        INPUT,
        {"metadata": {"user_id": "u1"}, "tags": ["t1"]},
        stream_mode=["tasks", "debug"],
    )

    meta = {"user_id": "u1", "tags": ["t1"]}
    start_1 = {
        "id": "<uuid-1>",
        "name": "refine_topic",
        "input": {"topic": "ice cream"},
        "triggers": ("branch:to:refine_topic",),
        "metadata": meta,
    }
    result_1 = {
        "id": "<uuid-1>",
        "name": "refine_topic",
        "error": None,
        "result": {"topic": "ice cream and cats"},
        "interrupts": [],
    }
    start_2 = {
        "id": "<uuid-2>",
        "name": "generate_joke",
        "input": {"topic": "ice cream and cats"},
        "triggers": ("branch:to:generate_joke",),
        "metadata": meta,
    }
    result_2 = {
        "id": "<uuid-2>",
        "name": "generate_joke",
        "error": None,
        "result": {"joke": JOKE},
        "interrupts": [],
    }

    def debug(step: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"step": step, "timestamp": "<ts>", "type": kind, "payload": payload}

    assert canon(chunks) == canon(
        [
            ("tasks", start_1),
            ("debug", debug(1, "task", start_1)),
            ("tasks", result_1),
            ("debug", debug(1, "task_result", result_1)),
            ("tasks", start_2),
            ("debug", debug(2, "task", start_2)),
            ("tasks", result_2),
            ("debug", debug(2, "task_result", result_2)),
        ]
    )


def test_task_start_has_no_metadata_key_without_user_metadata(runner):
    chunks = runner.stream(two_node(InMemorySaver()), INPUT, cfg("t"), stream_mode="tasks")

    starts = [c for c in chunks if "input" in c]
    assert len(starts) == 2
    assert all(list(c) == TASK_START_KEYS for c in starts)


def test_task_start_metadata_from_add_node(runner):
    builder = StateGraph(State)
    builder.add_node("refine_topic", refine_topic, metadata={"node_meta": "x"})
    builder.add_edge(START, "refine_topic")
    chunks = runner.stream(builder.compile(), INPUT, stream_mode="tasks")

    assert len(chunks) == 2
    start, result = chunks
    assert list(start) == [*TASK_START_KEYS, "metadata"]
    assert start["metadata"] == {"node_meta": "x"}
    assert start["id"] == result["id"]
    assert result == {
        "id": start["id"],
        "name": "refine_topic",
        "error": None,
        "result": {"topic": "ice cream and cats"},
        "interrupts": [],
    }


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------


def test_checkpoints_full_run_and_run_metadata_not_copied(runner):
    chunks = runner.stream(
        two_node(InMemorySaver()),
        INPUT,
        cfg("meta", metadata={"user_id": "u1"}),
        stream_mode="checkpoints",
    )

    assert len(chunks) == 4
    assert all(list(c) == CHECKPOINT_KEYS for c in chunks)
    ids = [c["config"]["configurable"]["checkpoint_id"] for c in chunks]
    assert all(is_uuid(i) for i in ids) and len(set(ids)) == 4
    for i, c in enumerate(chunks):
        assert list(c["config"]["configurable"]) == ["checkpoint_ns", "thread_id", "checkpoint_id"]
        assert c["config"]["configurable"]["checkpoint_ns"] == ""
        assert c["config"]["configurable"]["thread_id"] == "meta"
        if i == 0:
            assert c["parent_config"] is None
        else:
            assert c["parent_config"] == {
                "configurable": {
                    "checkpoint_ns": "",
                    "thread_id": "meta",
                    "checkpoint_id": ids[i - 1],
                }
            }
    assert [c["metadata"] for c in chunks] == [
        {"source": "input", "step": -1, "parents": {}},
        {"source": "loop", "step": 0, "parents": {}},
        {"source": "loop", "step": 1, "parents": {}},
        {"source": "loop", "step": 2, "parents": {}},
    ]
    assert [c["values"] for c in chunks] == [
        {},
        {"topic": "ice cream"},
        {"topic": "ice cream and cats"},
        {"topic": "ice cream and cats", "joke": JOKE},
    ]
    assert [c["next"] for c in chunks] == [["__start__"], ["refine_topic"], ["generate_joke"], []]
    assert [[t["name"] for t in c["tasks"]] for c in chunks] == [
        ["__start__"],
        ["refine_topic"],
        ["generate_joke"],
        [],
    ]
    for c in chunks[:3]:
        (entry,) = c["tasks"]
        assert is_uuid(entry["id"])
        assert entry["interrupts"] == ()
        assert entry["state"] is None


def test_checkpoint_task_ids_match_task_events(runner):
    chunks = runner.stream(
        two_node(InMemorySaver()), INPUT, cfg("ids"), stream_mode=["checkpoints", "tasks"]
    )

    pending = [c["tasks"][0]["id"] for mode, c in chunks if mode == "checkpoints" and c["tasks"]]
    started = [c["id"] for mode, c in chunks if mode == "tasks" and "input" in c]
    assert started == pending[1:]


def test_checkpoints_without_checkpointer_yield_nothing(runner):
    assert runner.stream(two_node(), INPUT, stream_mode="checkpoints") == []


def test_checkpoints_show_channel_defaults_and_input_without_writes(runner):
    class RState(TypedDict):
        log: Annotated[list, operator.add]
        n: int

    builder = StateGraph(RState)
    builder.add_node("r1", lambda state: {"log": ["r1"]})
    builder.add_edge(START, "r1")
    chunks = runner.stream(
        builder.compile(checkpointer=InMemorySaver()),
        {},
        cfg("r"),
        stream_mode=["checkpoints", "values"],
    )

    assert [mode for mode, _ in chunks] == ["checkpoints", "checkpoints", "values", "checkpoints"]
    assert [c["values"] for mode, c in chunks if mode == "checkpoints"] == [
        {"log": []},
        {"log": []},
        {"log": ["r1"]},
    ]
    assert chunks[2][1] == {"log": ["r1"]}
    assert chunks[1][1]["next"] == ["r1"]
    assert chunks[3][1]["next"] == [] and chunks[3][1]["tasks"] == []


# ---------------------------------------------------------------------------------------------
# Private channels and key order
# ---------------------------------------------------------------------------------------------


class Priv(TypedDict):
    private_note: str


class PubState(TypedDict):
    x: int


def _private_graph() -> Any:
    def write_private(state: PubState) -> Priv:
        return {"private_note": "secret"}

    def read_private(state: Priv) -> PubState:
        return {"x": len(state["private_note"])}

    builder = StateGraph(PubState)
    builder.add_node("write_private", write_private)
    builder.add_node("read_private", read_private)
    builder.add_edge(START, "write_private")
    builder.add_edge("write_private", "read_private")
    return builder.compile()


def test_private_channel_in_values_updates_and_task_input(runner):
    chunks = runner.stream(_private_graph(), {"x": 0}, stream_mode=["values", "updates", "tasks"])

    assert canon(chunks) == canon(
        [
            ("values", {"x": 0}),
            (
                "tasks",
                {
                    "id": "<uuid-1>",
                    "name": "write_private",
                    "input": {"x": 0},
                    "triggers": ("branch:to:write_private",),
                },
            ),
            ("updates", {"write_private": {"private_note": "secret"}}),
            (
                "tasks",
                {
                    "id": "<uuid-1>",
                    "name": "write_private",
                    "error": None,
                    "result": {"private_note": "secret"},
                    "interrupts": [],
                },
            ),
            ("values", {"x": 0, "private_note": "secret"}),
            (
                "tasks",
                {
                    "id": "<uuid-2>",
                    "name": "read_private",
                    "input": {"private_note": "secret"},
                    "triggers": ("branch:to:read_private",),
                },
            ),
            ("updates", {"read_private": {"x": 6}}),
            (
                "tasks",
                {
                    "id": "<uuid-2>",
                    "name": "read_private",
                    "error": None,
                    "result": {"x": 6},
                    "interrupts": [],
                },
            ),
            ("values", {"x": 6, "private_note": "secret"}),
        ]
    )


def test_result_keeps_returned_key_order_values_use_schema_order(runner):
    class KState(TypedDict):
        a: int
        b: int
        c: int

    builder = StateGraph(KState)
    builder.add_node("reversed_keys", lambda state: {"c": 3, "a": 1})
    builder.add_edge(START, "reversed_keys")
    chunks = runner.stream(builder.compile(), {"b": 2}, stream_mode=["updates", "values", "tasks"])

    assert [mode for mode, _ in chunks] == ["values", "tasks", "updates", "tasks", "values"]
    assert chunks[0][1] == {"b": 2}
    assert list(chunks[2][1]["reversed_keys"]) == ["c", "a"]
    assert list(chunks[3][1]["result"]) == ["c", "a"]
    assert list(chunks[4][1]) == ["a", "b", "c"]
    assert chunks[4][1] == {"a": 1, "b": 2, "c": 3}


def test_task_writing_same_channel_twice_result_uses_writes_marker(runner):
    class LState(TypedDict):
        log: Annotated[list, operator.add]
        x: int

    builder = StateGraph(LState)
    builder.add_node(
        "twice",
        lambda state: [Command(update={"log": ["one"]}), Command(update={"log": ["two"], "x": 5})],
    )
    builder.add_edge(START, "twice")
    chunks = runner.stream(builder.compile(), {"log": []}, stream_mode="tasks")

    result = chunks[1]
    assert result["result"] == {"log": {"$writes": [["one"], ["two"]]}, "x": 5}


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def _boom_graph(checkpointer: Any = None) -> Any:
    def boom(state: State) -> dict[str, Any]:
        raise RuntimeError("kaput")

    builder = StateGraph(State)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    return builder.compile(checkpointer=checkpointer)


def test_task_result_error_is_the_exception_object(runner):
    chunks, exc = runner.stream_until_error(_boom_graph(), INPUT, stream_mode=["tasks", "debug"])

    assert type(exc) is RuntimeError and str(exc) == "kaput"
    assert [mode for mode, _ in chunks] == ["tasks", "debug", "tasks", "debug"]
    task_result = chunks[2][1]
    debug_result = chunks[3][1]
    assert list(task_result) == TASK_RESULT_KEYS
    assert type(task_result["error"]) is RuntimeError
    assert repr(task_result["error"]) == "RuntimeError('kaput')"
    assert task_result["result"] == {}
    assert task_result["interrupts"] == []
    assert debug_result["type"] == "task_result"
    assert type(debug_result["payload"]["error"]) is RuntimeError
    assert debug_result["payload"] == task_result


def test_failed_step_has_no_checkpoint(runner):
    chunks, exc = runner.stream_until_error(
        _boom_graph(InMemorySaver()), INPUT, cfg("err"), stream_mode="debug"
    )

    assert isinstance(exc, RuntimeError)
    assert [(e["type"], e["step"]) for e in chunks] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
    ]


def test_retry_after_error_reemits_checkpoint_with_error_string(runner):
    graph = _boom_graph(InMemorySaver())
    config = cfg("err")
    _, first_exc = runner.stream_until_error(graph, INPUT, config)
    assert isinstance(first_exc, RuntimeError)

    chunks, exc = runner.stream_until_error(
        graph, None, config, stream_mode=["checkpoints", "debug"]
    )

    assert type(exc) is RuntimeError and str(exc) == "kaput"
    assert [mode for mode, _ in chunks] == ["checkpoints", "debug", "debug", "debug"]
    checkpoint = chunks[0][1]
    assert chunks[1][1]["type"] == "checkpoint" and chunks[1][1]["step"] == 0
    assert chunks[1][1]["payload"] == checkpoint
    assert checkpoint["metadata"] == {"source": "loop", "step": 0, "parents": {}}
    assert checkpoint["next"] == ["boom"]
    # Resumed-from checkpoint: parent_config keys in stored order.
    assert list(checkpoint["parent_config"]["configurable"]) == [
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
    ]
    assert list(checkpoint["config"]["configurable"]) == [
        "checkpoint_ns",
        "thread_id",
        "checkpoint_id",
    ]
    (entry,) = checkpoint["tasks"]
    assert list(entry) == ["id", "name", "error", "state"]
    assert entry["name"] == "boom"
    assert entry["error"] == "RuntimeError('kaput')"
    assert entry["state"] is None
    task, task_result = chunks[2][1], chunks[3][1]
    assert (task["type"], task["step"]) == ("task", 1)
    assert task["payload"]["id"] == entry["id"]
    assert (task_result["type"], task_result["step"]) == ("task_result", 1)
    assert type(task_result["payload"]["error"]) is RuntimeError
    assert task_result["payload"]["result"] == {}


def test_non_dict_return_reports_invalid_update_error(runner):
    builder = StateGraph(State)
    builder.add_node("ret_five", lambda state: 5)
    builder.add_edge(START, "ret_five")
    chunks, exc = runner.stream_until_error(builder.compile(), INPUT, stream_mode="tasks")

    assert isinstance(exc, InvalidUpdateError)
    assert len(chunks) == 2
    err = chunks[1]["error"]
    assert isinstance(err, InvalidUpdateError)
    assert str(err).startswith("Expected dict, got 5\n")
    assert "INVALID_GRAPH_NODE_RETURN_VALUE" in str(err)
    assert chunks[1]["result"] == {}


# ---------------------------------------------------------------------------------------------
# Cache hits
# ---------------------------------------------------------------------------------------------


def _cached_graph(calls: dict[str, int]) -> Any:
    def slow(state: State) -> dict[str, Any]:
        calls["n"] += 1
        return {"joke": f"computed #{calls['n']}"}

    builder = StateGraph(State)
    builder.add_node("slow", slow, cache_policy=CachePolicy())
    builder.add_edge(START, "slow")
    return builder.compile(cache=InMemoryCache())


MODES = ["updates", "values", "tasks", "debug"]


def test_cache_miss_then_hit(runner):
    calls = {"n": 0}
    graph = _cached_graph(calls)

    first = runner.stream(graph, INPUT, stream_mode=MODES)
    second = runner.stream(graph, INPUT, stream_mode=MODES)

    assert calls["n"] == 1
    assert [mode for mode, _ in first] == [
        "values",
        "tasks",
        "debug",
        "updates",
        "tasks",
        "debug",
        "values",
    ]
    assert first[3] == ("updates", {"slow": {"joke": "computed #1"}})
    assert first[4][1]["result"] == {"joke": "computed #1"}
    # Cache hit: a start event, an updates chunk flagged as cached, no task_result.
    assert [mode for mode, _ in second] == ["values", "tasks", "debug", "updates", "values"]
    assert second[1][1]["name"] == "slow"
    assert list(second[1][1]) == TASK_START_KEYS
    assert second[2][1]["type"] == "task"
    assert second[3] == (
        "updates",
        {"slow": {"joke": "computed #1"}, "__metadata__": {"cached": True}},
    )
    assert list(second[3][1]) == ["slow", "__metadata__"]
    assert second[4] == ("values", {"topic": "ice cream", "joke": "computed #1"})


# ---------------------------------------------------------------------------------------------
# Interrupts
# ---------------------------------------------------------------------------------------------


class QState(TypedDict, total=False):
    question: str
    answer: str


def _interrupt_graph() -> Any:
    def before(state: QState) -> dict[str, Any]:
        return {"question": state["question"] + "?"}

    def ask(state: QState) -> dict[str, Any]:
        return {"answer": interrupt({"q": state["question"]})}

    def after(state: QState) -> dict[str, Any]:
        return {"answer": state["answer"] + "!"}

    builder = StateGraph(QState)
    builder.add_node("before", before)
    builder.add_node("ask", ask)
    builder.add_node("after", after)
    builder.add_edge(START, "before")
    builder.add_edge("before", "ask")
    builder.add_edge("ask", "after")
    return builder.compile(checkpointer=InMemorySaver())


def test_interrupted_task_result_and_no_checkpoint_after(runner):
    graph = _interrupt_graph()
    events = runner.stream(graph, {"question": "why"}, cfg("i1"), stream_mode="debug")

    assert [(e["type"], e["step"]) for e in events] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
        ("checkpoint", 1),
        ("task", 2),
        ("task_result", 2),
    ]
    result = events[-1]["payload"]
    assert result["name"] == "ask"
    assert result["error"] is None
    assert result["result"] == {}
    (intr,) = result["interrupts"]
    assert type(intr) is dict
    assert list(intr) == ["value", "id", "response_schema"]
    assert intr["value"] == {"q": "why?"}
    assert re.fullmatch(r"[0-9a-f]{32}", intr["id"])
    assert intr["response_schema"] is None


def test_resume_reemits_checkpoint_with_stored_interrupts(runner):
    graph = _interrupt_graph()
    config = cfg("i1")
    first = runner.stream(graph, {"question": "why"}, config, stream_mode="debug")
    interrupted_id = first[-1]["payload"]["id"]
    interrupt_id = first[-1]["payload"]["interrupts"][0]["id"]

    events = runner.stream(graph, Command(resume="because"), config, stream_mode="debug")

    assert [(e["type"], e["step"]) for e in events] == [
        ("checkpoint", 1),
        ("task", 2),
        ("task_result", 2),
        ("checkpoint", 2),
        ("task", 3),
        ("task_result", 3),
        ("checkpoint", 3),
    ]
    resumed = events[0]["payload"]
    assert list(resumed["parent_config"]["configurable"]) == [
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
    ]
    assert resumed["next"] == ["ask"]
    (entry,) = resumed["tasks"]
    assert entry["id"] == interrupted_id
    assert entry["interrupts"] == (
        {"value": {"q": "why?"}, "id": interrupt_id, "response_schema": None},
    )
    # The interrupted node runs again with the same task id.
    assert events[1]["payload"]["id"] == interrupted_id
    assert events[2]["payload"]["result"] == {"answer": "because"}
    assert events[-1]["payload"]["values"] == {"question": "why?", "answer": "because!"}
    assert events[-1]["payload"]["next"] == []


# ---------------------------------------------------------------------------------------------
# Send tasks
# ---------------------------------------------------------------------------------------------


class OverallState(TypedDict):
    topic: str
    subjects: list
    jokes: Annotated[list, operator.add]


class JokeState(TypedDict):
    subject: str


def _send_graph(checkpointer: Any = None) -> Any:
    def gen_topics(state: OverallState) -> dict[str, Any]:
        return {"subjects": ["lions", "elephants", "penguins"]}

    def fan_out(state: OverallState) -> list[Send]:
        return [Send("generate_joke", {"subject": s}) for s in state["subjects"]]

    def joke(state: JokeState) -> dict[str, Any]:
        return {"jokes": [f"joke about {state['subject']}"]}

    builder = StateGraph(OverallState)
    builder.add_node("gen_topics", gen_topics)
    builder.add_node("generate_joke", joke)
    builder.add_edge(START, "gen_topics")
    builder.add_conditional_edges("gen_topics", fan_out, ["generate_joke"])
    return builder.compile(checkpointer=checkpointer)


def test_send_tasks_in_tasks_and_checkpoints(runner):
    chunks = runner.stream(
        _send_graph(InMemorySaver()),
        {"topic": "animals"},
        cfg("s"),
        stream_mode=["tasks", "checkpoints"],
    )

    checkpoints = [c for mode, c in chunks if mode == "checkpoints"]
    assert checkpoints[0]["values"] == {"jokes": []}
    assert checkpoints[2]["next"] == ["generate_joke"] * 3
    pending = checkpoints[2]["tasks"]
    assert [t["name"] for t in pending] == ["generate_joke"] * 3
    assert len({t["id"] for t in pending}) == 3
    starts = [
        c for mode, c in chunks if mode == "tasks" and "input" in c and c["name"] == "generate_joke"
    ]
    assert [s["input"] for s in starts] == [
        {"subject": "lions"},
        {"subject": "elephants"},
        {"subject": "penguins"},
    ]
    assert all(s["triggers"] == ("__pregel_push",) for s in starts)
    assert [s["id"] for s in starts] == [t["id"] for t in pending]
    results = [
        c
        for mode, c in chunks
        if mode == "tasks" and "result" in c and c["name"] == "generate_joke"
    ]
    assert len(results) == 3
    assert checkpoints[-1]["values"]["jokes"] == [
        "joke about lions",
        "joke about elephants",
        "joke about penguins",
    ]


# ---------------------------------------------------------------------------------------------
# Subgraph checkpoints
# ---------------------------------------------------------------------------------------------


class SubState(TypedDict):
    foo: str
    bar: str


class ParentState(TypedDict):
    foo: str


def _subgraph_parent(checkpointer: Any) -> Any:
    sub = StateGraph(SubState)
    sub.add_node("subgraph_node_1", lambda state: {"bar": "bar"})
    sub.add_node("subgraph_node_2", lambda state: {"foo": state["foo"] + state["bar"]})
    sub.add_edge(START, "subgraph_node_1")
    sub.add_edge("subgraph_node_1", "subgraph_node_2")

    builder = StateGraph(ParentState)
    builder.add_node("node_1", lambda state: {"foo": "hi! " + state["foo"]})
    builder.add_node("node_2", sub.compile())
    builder.add_edge(START, "node_1")
    builder.add_edge("node_1", "node_2")
    return builder.compile(checkpointer=checkpointer)


def test_subgraph_checkpoints_namespace_map_and_task_state(runner):
    chunks = runner.stream(
        _subgraph_parent(InMemorySaver()),
        {"foo": "foo"},
        cfg("sub1"),
        stream_mode="checkpoints",
        subgraphs=True,
    )

    assert [len(ns) for ns, _ in chunks] == [0, 0, 0, 1, 1, 1, 1, 0]
    parent_cp = chunks[2][1]
    (entry,) = parent_cp["tasks"]
    assert entry["name"] == "node_2"
    sub_ns = f"node_2:{entry['id']}"
    assert entry["state"] == {"configurable": {"thread_id": "sub1", "checkpoint_ns": sub_ns}}
    parent_id = parent_cp["config"]["configurable"]["checkpoint_id"]
    sub_chunks = [c for ns, c in chunks if ns]
    assert all(ns == (sub_ns,) for ns, _ in chunks[3:7])
    for c in sub_chunks:
        conf = c["config"]["configurable"]
        assert list(conf) == ["checkpoint_ns", "thread_id", "checkpoint_map", "checkpoint_id"]
        assert conf["checkpoint_ns"] == sub_ns
        assert conf["checkpoint_map"] == {"": parent_id, sub_ns: conf["checkpoint_id"]}
        assert c["metadata"]["parents"] == {"": parent_id}
    assert [c["metadata"]["step"] for c in sub_chunks] == [-1, 0, 1, 2]
    assert sub_chunks[0]["parent_config"] is None
    assert sub_chunks[-1]["values"] == {"foo": "hi! foobar", "bar": "bar"}
    assert chunks[-1][1]["values"] == {"foo": "hi! foobar"}
    assert chunks[-1][1]["metadata"] == {"source": "loop", "step": 2, "parents": {}}


def test_subgraph_checkpoints_hidden_without_subgraphs(runner):
    chunks = runner.stream(
        _subgraph_parent(InMemorySaver()),
        {"foo": "foo"},
        cfg("sub2"),
        stream_mode="checkpoints",
    )

    assert len(chunks) == 4
    assert all(c["config"]["configurable"]["checkpoint_ns"] == "" for c in chunks)


@pytest.mark.parametrize("mode", ["tasks", "debug"])
def test_subgraph_tasks_nested_between_parent_start_and_result(runner, mode):
    chunks = runner.stream(
        _subgraph_parent(None),
        {"foo": "foo"},
        stream_mode=mode,
        subgraphs=True,
    )

    def name(c: dict[str, Any]) -> str:
        return c["payload"]["name"] if mode == "debug" else c["name"]

    shape = [(len(ns), name(c)) for ns, c in chunks]
    assert shape == [
        (0, "node_1"),
        (0, "node_1"),
        (0, "node_2"),
        (1, "subgraph_node_1"),
        (1, "subgraph_node_1"),
        (1, "subgraph_node_2"),
        (1, "subgraph_node_2"),
        (0, "node_2"),
    ]
    node_2_start = chunks[2][1]["payload"] if mode == "debug" else chunks[2][1]
    assert chunks[3][0] == (f"node_2:{node_2_start['id']}",)
