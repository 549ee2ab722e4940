"""The saver contract, run against every backend and both faces (see ``conftest.py``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from relaygraph.checkpoint.serde import CheckpointSerializationError
from relaygraph.constants import ERROR, INTERRUPT, RESUME
from relaygraph.pregel._ids import new_checkpoint_id
from relaygraph.types import Command, Interrupt, Send
from tests.checkpoint.conftest import Env


def cfg(thread_id: str, checkpoint_id: str | None = None, ns: str = "") -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def checkpoint(values: dict[str, Any], versions: dict[str, int]) -> dict[str, Any]:
    return {
        "v": 1,
        "id": new_checkpoint_id(),
        "ts": dt.datetime.now(dt.timezone.utc).isoformat(),
        "channel_values": values,
        "channel_versions": versions,
        "versions_seen": {},
        "updated_channels": sorted(versions),
    }


def rewrite_documents(env: Env, thread_id: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite every checkpoint document of a thread in the SQLite file with ``edit`` (to turn
    rows into an earlier layout)."""
    if env.backend != "sqlite":
        pytest.skip("rewrites the SQLite file's rows")
    conn, serde = env.saver.conn, env.saver.serde
    rows = conn.execute(
        "SELECT checkpoint_id, checkpoint FROM relaygraph_checkpoints WHERE thread_id = ?",
        (thread_id,),
    ).fetchall()
    for cid, blob in rows:
        doc = serde.loads(blob)
        edit(doc)
        conn.execute(
            "UPDATE relaygraph_checkpoints SET checkpoint = ? WHERE checkpoint_id = ?",
            (serde.dumps(doc), cid),
        )


class History:
    """Puts a chain of checkpoints on one thread the way the engine does."""

    def __init__(self, env: Env, thread_id: str, ns: str = "") -> None:
        self.env, self.thread_id, self.ns = env, thread_id, ns
        self.values: dict[str, Any] = {}
        self.versions: dict[str, int] = {}
        self.ids: list[str] = []

    async def step(self, metadata: dict[str, Any] | None = None, **updates: Any) -> str:
        for k, v in updates.items():
            self.values[k] = v
            self.versions[k] = self.versions.get(k, 0) + 1
        cp = checkpoint(dict(self.values), dict(self.versions))
        parent = self.ids[-1] if self.ids else None
        meta = metadata or {"source": "loop", "step": len(self.ids), "parents": {}}
        new_versions = {k: self.versions[k] for k in updates}
        out = await self.env.call(
            "put", cfg(self.thread_id, parent, self.ns), cp, meta, new_versions
        )
        assert out["configurable"]["checkpoint_id"] == cp["id"]
        self.ids.append(cp["id"])
        return cp["id"]


async def test_put_then_get_latest_and_by_id(env: Env, thread_id: str) -> None:
    h = History(env, thread_id)
    first = await h.step(a=1, b="x")
    second = await h.step(a=2)
    latest = await env.call("get_tuple", cfg(thread_id))
    assert latest.config == cfg(thread_id, second)
    assert latest.parent_config == cfg(thread_id, first)
    assert latest.checkpoint["channel_values"] == {"a": 2, "b": "x"}
    assert latest.checkpoint["channel_versions"] == {"a": 2, "b": 1}
    assert latest.metadata == {"source": "loop", "step": 1, "parents": {}}
    assert latest.pending_writes == []
    old = await env.call("get_tuple", cfg(thread_id, first))
    assert old.checkpoint["channel_values"] == {"a": 1, "b": "x"}
    assert old.parent_config is None
    assert await env.call("get_tuple", cfg(thread_id, new_checkpoint_id())) is None
    assert await env.call("get_tuple", cfg("no-such-thread")) is None
    assert await env.call("get_tuple", cfg(thread_id, ns="other")) is None


async def test_unversioned_and_cleared_channels(env: Env, thread_id: str) -> None:
    cp = checkpoint({"items": [], "x": 1}, {"x": 1, "branch:to:a": 3})
    await env.call("put", cfg(thread_id), cp, {"source": "input", "step": -1}, {"x": 1})
    got = await env.call("get_tuple", cfg(thread_id))
    assert got.checkpoint["channel_values"] == {"items": [], "x": 1}
    assert got.checkpoint["channel_versions"] == {"x": 1, "branch:to:a": 3}


async def test_list_filter_before_limit(env: Env, thread_id: str) -> None:
    h = History(env, thread_id)
    for i in range(5):
        meta = {"source": "input" if i == 0 else "loop", "step": i - 1, "user": f"u{i % 2}"}
        await h.step(meta, n=i)
    ids = list(reversed(h.ids))
    listed = await env.call("list", cfg(thread_id))
    assert [t.config["configurable"]["checkpoint_id"] for t in listed] == ids
    assert [t.checkpoint["channel_values"]["n"] for t in listed] == [4, 3, 2, 1, 0]

    async def ids_of(**kwargs: Any) -> list[str]:
        return [t.config["configurable"]["checkpoint_id"] for t in await env.call("list", **kwargs)]

    assert await ids_of(config=cfg(thread_id), limit=2) == ids[:2]
    assert await ids_of(config=cfg(thread_id), before=cfg(thread_id, ids[1])) == ids[2:]
    assert await ids_of(config=cfg(thread_id), before=cfg(thread_id, ids[1]), limit=1) == [ids[2]]
    assert await ids_of(config=cfg(thread_id), filter={"source": "input"}) == [ids[4]]
    assert await ids_of(config=cfg(thread_id), filter={"step": 2}) == [ids[1]]
    assert await ids_of(config=cfg(thread_id), filter={"user": "u0"}, limit=2) == [ids[0], ids[2]]
    assert await ids_of(config=cfg(thread_id), filter={"user": "u1", "source": "loop"}) == [
        ids[1],
        ids[3],
    ]
    assert await ids_of(config=cfg(thread_id), filter={"user": "nobody"}) == []
    assert await ids_of(config=cfg(thread_id, ids[2])) == [ids[2]]
    other = History(env, thread_id + "-b")
    await other.step(n=9)
    everything = await ids_of(config=None)
    assert set(ids) | set(other.ids) <= set(everything)
    assert await ids_of(config=None, filter={"user": "u1"}, limit=1) == [ids[1]]


async def test_namespaces_are_separate(env: Env, thread_id: str) -> None:
    root = History(env, thread_id)
    sub = History(env, thread_id, ns="child:1")
    await root.step(a="root")
    await sub.step(a="sub")
    assert (await env.call("get_tuple", cfg(thread_id))).checkpoint["channel_values"] == {
        "a": "root"
    }
    got = await env.call("get_tuple", cfg(thread_id, ns="child:1"))
    assert got.checkpoint["channel_values"] == {"a": "sub"}
    assert len(await env.call("list", {"configurable": {"thread_id": thread_id}})) == 2


async def test_put_writes_idempotent_and_special_channels(env: Env, thread_id: str) -> None:
    h = History(env, thread_id)
    cid = await h.step(a=1)
    at = cfg(thread_id, cid)
    await env.call("put_writes", at, [("a", 1), ("b", [2])], "task-1")
    await env.call("put_writes", at, [("a", 100), ("b", [200])], "task-1")  # ignored
    await env.call("put_writes", at, [(ERROR, ValueError("first"))], "task-2")
    await env.call("put_writes", at, [(ERROR, ValueError("second"))], "task-2")  # replaces
    intr = Interrupt(value={"ask": "name?"}, id="i" * 32)
    await env.call("put_writes", at, [(INTERRUPT, [intr]), (RESUME, ["Ada"])], "task-3")
    got = await env.call("get_tuple", cfg(thread_id))
    writes = {(t, c): v for t, c, v in got.pending_writes}
    assert len(got.pending_writes) == 5
    assert writes[("task-1", "a")] == 1
    assert writes[("task-1", "b")] == [2]
    assert repr(writes[("task-2", ERROR)]) == repr(ValueError("second"))
    assert writes[("task-3", INTERRUPT)] == [intr]
    assert writes[("task-3", RESUME)] == ["Ada"]
    task1 = [(c, v) for t, c, v in got.pending_writes if t == "task-1"]
    assert task1 == [("a", 1), ("b", [2])]
    await h.step(a=2)
    assert (await env.call("get_tuple", cfg(thread_id))).pending_writes == []


async def test_delete_thread(env: Env, thread_id: str) -> None:
    keep = History(env, thread_id + "-keep")
    gone = History(env, thread_id)
    await keep.step(a=1)
    cid = await gone.step(a=1)
    await env.call("put_writes", cfg(thread_id, cid), [("a", 2)], "task")
    await env.call("delete_thread", thread_id)
    assert await env.call("get_tuple", cfg(thread_id)) is None
    assert await env.call("list", cfg(thread_id)) == []
    assert await env.call("get_tuple", cfg(thread_id + "-keep")) is not None
    await gone.step(a=5)  # the thread can be reused after deletion
    assert (await env.call("get_tuple", cfg(thread_id))).checkpoint["channel_values"]["a"] == 5


async def test_copy_thread(env: Env, thread_id: str) -> None:
    src, dst = thread_id, thread_id + "-copy"
    h = History(env, src)
    for i in range(4):
        await h.step(items=list(range(i + 1)), other=i)
    await env.call("put_writes", cfg(src, h.ids[-1]), [("items", [9])], "task")
    stale = History(env, dst)
    await stale.step(a="stale")
    await env.call("copy_thread", src, dst)
    original = await env.call("list", cfg(src))
    copied = await env.call("list", cfg(dst))
    assert [t.checkpoint for t in copied] == [t.checkpoint for t in original]
    assert [t.metadata for t in copied] == [t.metadata for t in original]
    assert copied[0].pending_writes == [("task", "items", [9])]
    assert copied[0].config["configurable"]["thread_id"] == dst
    assert copied[0].parent_config == cfg(dst, h.ids[-2])
    assert len(await env.call("list", cfg(src))) == 4


async def test_prune_keeps_latest_and_their_values(env: Env, thread_id: str) -> None:
    h = History(env, thread_id)
    items: list[Any] = []
    for i in range(10):
        items = [*items, f"item-{i}"]
        await h.step(items=items, **({"flag": i} if i % 4 == 0 else {}))
        await env.call("put_writes", cfg(thread_id, h.ids[-1]), [("items", [i])], f"t{i}")
    dropped = await env.call("prune", thread_id, keep_latest=3)
    assert dropped == 7
    left = await env.call("list", cfg(thread_id))
    assert [t.config["configurable"]["checkpoint_id"] for t in left] == h.ids[::-1][:3]
    assert left[0].checkpoint["channel_values"] == {"items": items, "flag": 8}
    assert left[2].checkpoint["channel_values"] == {"items": items[:8], "flag": 4}
    assert left[0].pending_writes == [("t9", "items", [9])]
    assert await env.call("get_tuple", cfg(thread_id, h.ids[0])) is None
    await h.step(items=[*items, "after"])  # the saver keeps working on a pruned thread
    got = await env.call("get_tuple", cfg(thread_id))
    assert got.checkpoint["channel_values"]["items"] == [*items, "after"]
    assert await env.call("prune", thread_id, keep_latest=1) == 3


async def test_append_only_lists_and_forks(env: Env, thread_id: str) -> None:
    h = History(env, thread_id)
    items: list[Any] = []
    for i in range(150):  # long enough to pass the delta chain limit once
        items = [*items, {"i": i, "text": "x" * 20}]
        await h.step(items=items, count=i)
    listed = await env.call("list", cfg(thread_id))
    for n, tup in enumerate(reversed(listed)):
        assert tup.checkpoint["channel_values"]["items"] == items[: n + 1]
    # fork from the 10th checkpoint: the same engine version with different content
    fork = checkpoint({"items": [*items[:10], "forked"], "count": 9}, {"items": 11, "count": 10})
    await env.call("put", cfg(thread_id, h.ids[9]), fork, {"source": "fork"}, {"items": 11})
    got = await env.call("get_tuple", cfg(thread_id, fork["id"]))
    assert got.checkpoint["channel_values"]["items"] == [*items[:10], "forked"]
    main = await env.call("get_tuple", cfg(thread_id, h.ids[10]))
    assert main.checkpoint["channel_values"]["items"] == items[:11]
    replaced = checkpoint({"items": ["new"], "count": 0}, {"items": 152, "count": 151})
    await env.call("put", cfg(thread_id, h.ids[-1]), replaced, {}, {"items": 152, "count": 151})
    latest = await env.call("get_tuple", cfg(thread_id))
    assert latest.checkpoint["channel_values"] == {"items": ["new"], "count": 0}


async def test_storage_grows_with_what_changed(env: Env, thread_id: str) -> None:
    if env.backend != "sqlite":
        pytest.skip("measures the SQLite file's tables")
    h = History(env, thread_id)
    items: list[str] = []
    for i in range(100):
        items = [*items, f"{i:04d}" + "x" * 1020]
        await h.step(items=items)
    conn = env.saver.conn
    (blob_bytes,) = conn.execute(
        "SELECT SUM(LENGTH(data)) FROM relaygraph_checkpoint_blobs WHERE thread_id = ?",
        (thread_id,),
    ).fetchone()
    (row_bytes,) = conn.execute(
        "SELECT SUM(LENGTH(checkpoint)) FROM relaygraph_checkpoints WHERE thread_id = ?",
        (thread_id,),
    ).fetchone()
    final_state = 100 * 1030
    # deltas live in the checkpoint rows, full copies in the blob table (a full copy per
    # step would be ~50x the final state)
    assert blob_bytes + row_bytes < 3 * final_state


async def test_a_new_saver_reads_sparse_chains_and_forks(env: Env, thread_id: str) -> None:
    """Values rebuilt from the database alone: chains whose deltas are rows apart, forks."""
    h = History(env, thread_id)
    items: list[Any] = []
    want: list[dict[str, Any]] = []
    for i in range(160):
        updates: dict[str, Any] = {"count": i}
        if i % 3 != 1:
            items = [*items, i]
            updates["items"] = items
        if i % 50 == 0:
            updates["text"] = "t" * (100 * i)  # long strings go to the blob table
        await h.step(**updates)
        want.append(dict(h.values))
    fork = checkpoint({**want[100], "items": [*want[100]["items"], "f"]}, dict(h.versions))
    await env.call("put", cfg(thread_id, h.ids[100]), fork, {"source": "fork"}, {"items": 1})
    other = await env.new_saver()
    listed = await env.call("list", cfg(thread_id), saver=other)
    assert [t.checkpoint["id"] for t in listed] == [fork["id"], *h.ids[::-1]]
    assert listed[0].checkpoint["channel_values"]["items"] == [*want[100]["items"], "f"]
    for tup, values in zip(listed[1:], want[::-1], strict=True):
        assert tup.checkpoint["channel_values"] == values
    for n in (159, 100, 57, 3):
        got = await env.call("get_tuple", cfg(thread_id, h.ids[n]), saver=await env.new_saver())
        assert got.checkpoint["channel_values"] == want[n]


async def test_rows_without_owned_entries_still_read(env: Env, thread_id: str) -> None:
    """Rows of the first layout (every blob in the blob table) read as before."""
    if env.backend != "sqlite":
        pytest.skip("rewrites the SQLite file's rows")
    h = History(env, thread_id)
    items: list[Any] = []
    for i in range(80):
        items = [*items, i]
        await h.step(items=items, count=i)
    conn, serde = env.saver.conn, env.saver.serde

    def to_first_layout(doc: dict[str, Any]) -> None:  # every value in the blob table
        bases = doc.pop("bases", {})
        doc.pop("depths", None)
        for ch, value in doc.pop("own", {}).items():
            kind, base = ("delta", bases[ch]) if ch in bases else ("full", None)
            conn.execute(
                "INSERT INTO relaygraph_checkpoint_blobs VALUES (?, '', ?, ?, ?, ?, ?)",
                (thread_id, ch, doc["refs"][ch], kind, base, serde.dumps(value)),
            )

    rewrite_documents(env, thread_id, to_first_layout)
    other = await env.new_saver()
    listed = await env.call("list", cfg(thread_id), saver=other)
    assert [t.checkpoint["channel_values"]["items"] for t in listed] == [
        items[: n + 1] for n in range(80)
    ][::-1]
    await h.step(items=[*items, "next"], count=80)
    got = await env.call("get_tuple", cfg(thread_id), saver=await env.new_saver())
    assert got.checkpoint["channel_values"] == {"items": [*items, "next"], "count": 80}


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float
    tags: tuple[str, ...] = ()


class Model(BaseModel):
    name: str
    when: dt.datetime
    point: Point | None = None


def rich_values() -> dict[str, Any]:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    ai = AIMessage("calling", id="m2", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "c1"}])
    return {
        "json": {"a": [1, 2.5, None, True, "s"], "nested": {"k": {}}},
        "bytes": b"\x00\xffbin",
        "when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
        "naive": dt.datetime(2024, 5, 1, 12, 30, 1, 5),
        "day": dt.date(2024, 5, 1),
        "clock": dt.time(8, 15),
        "delta": dt.timedelta(days=1, seconds=5, microseconds=7),
        "uuid": uuid.UUID(int=42),
        "decimal": decimal.Decimal("1.10"),
        "sets": [{1, 2}, frozenset({"a"})],
        "tuple": (1, (2, 3)),
        "keys": {1: "int key", (1, 2): "tuple key", "__rg__": "tag-like key"},
        "big": 2**80,
        "floats": [float("inf"), float("-inf")],
        "enum": Color.RED,
        "dataclass": Point(1, 2.0, ("t",)),
        "model": Model(name="m", when=dt.datetime(2020, 1, 1), point=Point(3, 4.0)),
        "messages": [HumanMessage("hi", id="m1"), ai, ToolMessage("42", tool_call_id="c1")],
        "send": Send("node", {"arg": 1}),
        "interrupt": Interrupt(value="ask", id="x" * 32),
        "command": Command(update={"a": 1}, goto=["b"], resume={"id": 1}),
    }


async def test_serialization_round_trips(env: Env, thread_id: str) -> None:
    values = rich_values()
    versions = dict.fromkeys(values, 1)
    cp = checkpoint(values, versions)
    await env.call("put", cfg(thread_id), cp, {"source": "input", "step": -1}, versions)
    await env.call("put_writes", cfg(thread_id, cp["id"]), list(values.items()), "task")
    got = await env.call("get_tuple", cfg(thread_id))
    for key, value in values.items():
        stored = got.checkpoint["channel_values"][key]
        assert stored == value, key
        assert type(stored) is type(value), key
    assert got.checkpoint["channel_values"]["sets"][1] == frozenset({"a"})
    assert [v for _, _, v in got.pending_writes] == list(values.values())


async def test_unserializable_value_names_channel_and_type(env: Env, thread_id: str) -> None:
    if not env.durable:
        pytest.skip("the memory saver keeps values by reference")
    cp = checkpoint({"ok": 1, "bad": object()}, {"ok": 1, "bad": 1})
    with pytest.raises(CheckpointSerializationError, match=r"builtins\.object.*'bad'"):
        await env.call("put", cfg(thread_id), cp, {}, {"ok": 1, "bad": 1})
    with pytest.raises(TypeError, match="'oops'"):
        await env.call("put_writes", cfg(thread_id, cp["id"]), [("oops", lambda: 1)], "t")


async def test_a_new_saver_object_sees_the_data(env: Env, thread_id: str) -> None:
    h = History(env, thread_id)
    await h.step(items=["a"])
    cid = await h.step(items=["a", "b"])
    await env.call("put_writes", cfg(thread_id, cid), [("items", ["c"])], "task")
    other = await env.new_saver()
    got = await env.call("get_tuple", cfg(thread_id), saver=other)
    assert got.checkpoint["channel_values"] == {"items": ["a", "b"]}
    assert got.pending_writes == [("task", "items", ["c"])]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_setup_is_idempotent_and_safe_from_two_processes(backend: str, tmp_path: Any) -> None:
    import contextlib
    import subprocess
    import sys

    from tests._pg import fresh_schema

    stack = contextlib.ExitStack()
    if backend == "sqlite":
        where = str(tmp_path / "setup.db")
        module, cls = "relaygraph.checkpoint.sqlite", "SqliteSaver"
    else:
        where = stack.enter_context(fresh_schema())
        module, cls = "relaygraph.checkpoint.postgres", "PostgresSaver"
    code = (
        f"from {module} import {cls}\n"
        f"with {cls}.from_conn_string({where!r}) as s:\n"
        "    print(s.setup(), s.setup())\n"
    )
    with stack:
        procs = [
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=120)[0].strip() for p in procs]
        assert all(p.returncode == 0 for p in procs)
        assert sorted(outs) == ["[1] []", "[] []", "[] []"]


async def test_sync_methods_of_an_async_saver_work_from_another_thread(
    env: Env, thread_id: str
) -> None:
    import asyncio

    if not env.is_async:
        pytest.skip("about async savers")
    h = History(env, thread_id)
    cid = await h.step(a=1)
    got = await asyncio.to_thread(env.saver.get_tuple, cfg(thread_id))
    assert got.config == cfg(thread_id, cid)
    assert len(await asyncio.to_thread(lambda: list(env.saver.list(cfg(thread_id))))) == 1
