"""Group commit: the SQLite saver's ``transaction()`` and how a run batches its checkpoints.

With ``durability="async"`` a sync run queues its checkpoints and stores them in batches:
itself, once enough queued up or the oldest is old enough, and at the end; a process-wide
flusher thread stores them while a node runs longer than that. These tests pin the
guarantees: order, read-your-writes inside a transaction, a bounded delay while a node
runs, and storage errors surfacing from the run.
"""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from relaygraph.checkpoint.sqlite import SqliteSaver
from relaygraph.graph import END, START, StateGraph
from relaygraph.pregel import _drivers


def _cp(cid: str, items: list[int], version: int) -> dict[str, Any]:
    return {
        "v": 1,
        "id": cid,
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"items": items},
        "channel_versions": {"items": version},
        "versions_seen": {},
    }


def _conf(thread_id: str, cid: str | None) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": cid}}


def test_transaction_groups_rows_keeps_order_and_reads_its_own_writes(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "g.db")) as saver:
        saver.setup()
        with saver.transaction():
            saver.put(_conf("t", None), _cp("1", [1], 1), {"source": "input", "step": -1}, {})
            saver.put_writes(_conf("t", "1"), [("items", [2])], "task-a")
            saver.put_writes(_conf("t", "1"), [("items", [99])], "task-a")  # first one wins
            saved = saver.get_tuple(_conf("t", None))  # sees what is not committed yet
            assert saved is not None and saved.checkpoint["id"] == "1"
            assert saved.pending_writes == [("task-a", "items", [2])]
            saver.put(
                _conf("t", "1"), _cp("2", [1, 2], 2), {"source": "loop", "step": 0}, {"items": 2}
            )
            saver.put(
                _conf("t", "2"), _cp("3", [1, 2, 3], 3), {"source": "loop", "step": 1}, {"items": 3}
            )
        history = [t.checkpoint["channel_values"]["items"] for t in saver.list(_conf("t", None))]
        assert history == [[1, 2, 3], [1, 2], [1]]
        with pytest.raises(RuntimeError), saver.transaction():
            saver.put(_conf("t", "3"), _cp("4", [0], 4), {"source": "loop", "step": 2}, {})
            raise RuntimeError("rolled back, rows and all")
        latest = saver.get_tuple(_conf("t", None))
        assert latest is not None and latest.checkpoint["id"] == "3"


class State(TypedDict):
    items: Annotated[list[int], operator.add]


def test_a_checkpoint_is_stored_while_the_next_node_runs(tmp_path: Path) -> None:
    """The flusher stores a run's queue within a few ``FLUSH_AGE`` while a node is busy."""
    path = str(tmp_path / "slow.db")
    seen: list[float] = []

    def fast(state: State) -> dict[str, Any]:
        return {"items": [1]}

    def slow(state: State) -> dict[str, Any]:
        start = time.monotonic()
        with SqliteSaver.from_conn_string(path) as reader:
            while time.monotonic() - start < 5:
                saved = reader.get_tuple(_conf("slow", None))
                if saved is not None and saved.checkpoint["channel_values"].get("items") == [1]:
                    seen.append(time.monotonic() - start)
                    break
                time.sleep(0.005)
        return {"items": [2]}

    builder = StateGraph(State)
    builder.add_node("fast", fast)
    builder.add_node("slow", slow)
    builder.add_edge(START, "fast")
    builder.add_edge("fast", "slow")
    builder.add_edge("slow", END)
    with SqliteSaver.from_conn_string(path) as saver:
        saver.setup()
        graph = builder.compile(checkpointer=saver)
        assert graph.invoke({"items": []}, _conf("slow", None))["items"] == [1, 2]
    # seen by another connection while the slow node still ran (it waits up to 5 s for it)
    assert seen, "the checkpoint before the slow node was not stored while the node ran"


class Recorder:
    """A saver with transactions that records which thread stored what, or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        self.transactions = 0
        self.fail = fail

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.transactions += 1
        yield

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.calls.append(("put", checkpoint, threading.current_thread().name))

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.calls.append(("put_writes", task_id, threading.current_thread().name))


def test_the_run_stores_full_batches_itself_in_order() -> None:
    saver = Recorder()
    writer = _drivers._BackgroundWriter(saver)
    n = _drivers.FLUSH_ITEMS + 3
    for i in range(n):
        writer.put({}, i, {}, {})
    assert [c[1] for c in saver.calls] == list(range(_drivers.FLUSH_ITEMS))
    assert {c[2] for c in saver.calls} == {threading.current_thread().name}
    writer.put_writes({}, [], "task")
    writer.close()
    assert [c[1] for c in saver.calls] == [*range(n), "task"]
    assert saver.transactions == 2


def test_a_storage_error_is_raised_by_the_run() -> None:
    writer = _drivers._BackgroundWriter(Recorder(fail=True))
    writer.put({}, 1, {}, {})
    with pytest.raises(OSError, match="disk full"):
        writer.close()
