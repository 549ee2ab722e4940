"""Checkpoint metadata: the run config's scalar entries are stored with every checkpoint.

LangGraph's savers copy ``config["metadata"]`` then ``config["configurable"]`` into each
stored checkpoint's metadata (``get_checkpoint_metadata``); relaygraph's engine does it once
per run. The reference agrees with every test here.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from typing_extensions import TypedDict

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import END, START, StateGraph


class State(TypedDict):
    items: Annotated[list[Any], operator.add]


def chain(*names: str) -> StateGraph:
    graph = StateGraph(State)
    for name in names:
        graph.add_node(name, lambda state, name=name: {"items": [name]})
    for a, b in zip([START, *names], [*names, END], strict=True):
        graph.add_edge(a, b)
    return graph


RUN_CONFIG: dict[str, Any] = {
    "configurable": {
        "thread_id": "1",
        "user_id": "u\u0000v",
        "foo_bar": 3,
        "__secret": 1,
        "ratio": 0.5,
        "flag": True,
        "tags_list": ["x"],
        "nested": {"a": 1},
        "nothing": None,
        "source": "config",
        "step": 99,
        "run_id": "from-configurable",
    },
    "metadata": {"run_id": "r1", "foo": 1, "obj": object(), "parents": "config"},
}
EXTRA = {"run_id": "r1", "foo": 1, "user_id": "uv", "foo_bar": 3, "ratio": 0.5, "flag": True}


def test_checkpoints_store_the_configs_scalar_entries(runner):
    app = chain("a", "b").compile(checkpointer=InMemorySaver())
    runner.invoke(app, {"items": []}, RUN_CONFIG)
    history = runner.get_state_history(app, {"configurable": {"thread_id": "1"}})
    assert [h.metadata for h in history] == [
        {"source": source, "step": step, "parents": {}, **EXTRA}
        for source, step in (("loop", 2), ("loop", 1), ("loop", 0), ("input", -1))
    ]
    # engine keys first, then metadata entries, then configurable ones (first one wins)
    assert list(history[0].metadata) == ["source", "step", "parents", *EXTRA]
    assert (
        runner.get_state(app, {"configurable": {"thread_id": "1"}}).metadata == history[0].metadata
    )


def test_only_the_runs_own_config_counts(runner):
    app = chain("a").compile(checkpointer=InMemorySaver())
    runner.invoke(app, {"items": []}, {"configurable": {"thread_id": "1", "k": "v"}})
    runner.invoke(app, {"items": []}, {"configurable": {"thread_id": "1"}, "metadata": {"m": 2}})
    history = runner.get_state_history(app, {"configurable": {"thread_id": "1"}})
    assert [h.metadata.get("k") for h in history] == [None, None, None, "v", "v", "v"]
    assert [h.metadata.get("m") for h in history] == [2, 2, 2, None, None, None]


def test_history_filter_matches_config_entries(runner):
    app = chain("a").compile(checkpointer=InMemorySaver())
    runner.invoke(app, {"items": []}, {"configurable": {"thread_id": "1", "user_id": "ann"}})
    runner.invoke(app, {"items": []}, {"configurable": {"thread_id": "1", "user_id": "bob"}})
    config = {"configurable": {"thread_id": "1"}}
    bob = runner.get_state_history(app, config, filter={"user_id": "bob"})
    assert [(h.metadata["source"], h.metadata["step"]) for h in bob] == [
        ("loop", 4),
        ("loop", 3),
        ("input", 2),
    ]
    ann = runner.get_state_history(app, config, filter={"user_id": "ann", "source": "loop"})
    assert [h.metadata["step"] for h in ann] == [1, 0]


def test_streamed_checkpoints_leave_the_config_entries_out(runner):
    app = chain("a").compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1", "k": "v"}, "metadata": {"m": 1}}
    chunks = runner.stream(app, {"items": []}, config, stream_mode="checkpoints")
    assert [c["metadata"] for c in chunks] == [
        {"source": "input", "step": -1, "parents": {}},
        {"source": "loop", "step": 0, "parents": {}},
        {"source": "loop", "step": 1, "parents": {}},
    ]


def test_durability_exit_stores_them_too(runner):
    app = chain("a", "b").compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1", "k": "v"}, "metadata": {"m": 1}}
    runner.invoke(app, {"items": []}, config, durability="exit")
    history = runner.get_state_history(app, {"configurable": {"thread_id": "1"}})
    assert [h.metadata for h in history] == [
        {"source": "loop", "step": 2, "parents": {}, "m": 1, "k": "v"}
    ]


def test_subgraph_checkpoints_get_the_parents_entries_and_node_metadata(runner):
    saver = InMemorySaver()
    parent = StateGraph(State)
    parent.add_node("sub", chain("s1").compile(), metadata={"node_meta": "nm"})
    parent.add_edge(START, "sub").add_edge("sub", END)
    app = parent.compile(checkpointer=saver)
    runner.invoke(app, {"items": []}, {"configurable": {"thread_id": "1", "k": "v"}})
    inner = [t for t in saver.list(None) if t.config["configurable"]["checkpoint_ns"]]
    assert [(t.metadata["source"], t.metadata["step"]) for t in inner] == [
        ("loop", 1),
        ("loop", 0),
        ("input", -1),
    ]
    for t in inner:
        assert set(t.metadata["parents"]) == {""}
        assert {k: v for k, v in t.metadata.items() if k != "parents"} == {
            "source": t.metadata["source"],
            "step": t.metadata["step"],
            "node_meta": "nm",
            "k": "v",
        }


def test_update_state_stores_the_update_configs_entries(runner):
    app = chain("a").compile(checkpointer=InMemorySaver())
    runner.invoke(app, {"items": []}, {"configurable": {"thread_id": "1", "k": "v"}})
    update = {"configurable": {"thread_id": "1", "upd": "x"}, "metadata": {"m": 2}}
    runner.update_state(app, update, {"items": ["z"]}, as_node="a")
    state = runner.get_state(app, {"configurable": {"thread_id": "1"}})
    assert state.metadata == {"source": "update", "step": 2, "parents": {}, "m": 2, "upd": "x"}
