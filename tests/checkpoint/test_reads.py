"""How the SQL savers read one checkpoint: where its values come from (its row, its parent's,
older rows, the blob table), how few statements the common case takes, and that rows of
earlier layouts read the same."""

from __future__ import annotations

from typing import Any

import pytest

from tests.checkpoint.conftest import Env
from tests.checkpoint.test_conformance import History, cfg, rewrite_documents


async def read_all(env: Env, thread_id: str, ids: list[str]) -> list[Any]:
    """Every checkpoint of the thread, by id and in one listing, through a new saver object."""
    saver = await env.new_saver()
    listed = await env.call("list", cfg(thread_id), saver=saver)
    by_id = [await env.call("get_tuple", cfg(thread_id, cid), saver=saver) for cid in ids]
    latest = await env.call("get_tuple", cfg(thread_id), saver=saver)
    return [listed, by_id, latest]


async def test_values_from_own_parent_and_older_rows_and_the_blob_table(
    env: Env, thread_id: str
) -> None:
    h = History(env, thread_id)
    items: list[Any] = []
    want: list[dict[str, Any]] = []
    for i in range(12):
        items = [*items, {"i": i}]
        updates: dict[str, Any] = {"items": items, "count": i}
        if i == 0:
            updates["early"] = "set once, owned by the first row"
        if i in (1, 7):
            updates["text"] = f"{i}" * 2000  # long strings go to the blob table
        if i % 3 == 2:
            updates["every_third"] = i  # owned by the parent or an older row
        await h.step(**updates)
        want.append(dict(h.values))
    await env.call("put_writes", cfg(thread_id, h.ids[-1]), [("count", 3)], "t1")
    await env.call("put_writes", cfg(thread_id, h.ids[-1]), [("items", [1]), ("x", 2)], "t2")
    listed, by_id, latest = await read_all(env, thread_id, h.ids)
    assert [t.checkpoint["channel_values"] for t in by_id] == want
    assert [t.checkpoint["channel_values"] for t in listed] == want[::-1]
    assert latest == by_id[-1] == listed[0]
    assert latest.pending_writes == [("t1", "count", 3), ("t2", "items", [1]), ("t2", "x", 2)]
    assert [t.parent_config for t in by_id] == [None] + [cfg(thread_id, c) for c in h.ids[:-1]]


async def test_values_whose_owner_rows_were_pruned(env: Env, thread_id: str) -> None:
    """``prune`` moves the owned entries still in use to the blob table: a read that looks
    in the rows first (as the ``table`` field says) still finds them."""
    h = History(env, thread_id)
    for i in range(8):
        await h.step(count=i, **({"early": "from the first row", "small": 5} if i == 0 else {}))
    assert await env.call("prune", thread_id, keep_latest=2) == 6
    saver = await env.new_saver()
    for n in (6, 7):  # the first one's parent is gone too
        got = await env.call("get_tuple", cfg(thread_id, h.ids[n]), saver=saver)
        assert got.checkpoint["channel_values"] == {
            "count": n,
            "early": "from the first row",
            "small": 5,
        }


def statements(env: Env) -> list[str]:
    """The SQLite statements the saver runs from now on (first words)."""
    seen: list[str] = []
    env.saver.conn.set_trace_callback(lambda sql: seen.append(" ".join(sql.split()[:2])))
    return seen


async def test_a_checkpoint_its_row_and_parent_own_is_read_in_one_statement(
    env: Env, thread_id: str
) -> None:
    if env.backend != "sqlite":
        pytest.skip("traces the SQLite statements")
    h = History(env, thread_id)
    for i in range(5):
        await h.step(count=i, **({"topic": f"t{i}"} if i % 2 else {"joke": f"j{i}"}))
    seen = statements(env)
    got = await env.call("get_tuple", cfg(thread_id))
    assert got.checkpoint["channel_values"] == {"count": 4, "topic": "t3", "joke": "j4"}
    assert seen == ["BEGIN", "SELECT c.thread_id,", "COMMIT"]
    await env.call("put_writes", cfg(thread_id, h.ids[-1]), [("count", 5)], "task")
    await h.step(count=5)  # "topic" is now owned by an older row than the parent
    seen.clear()
    got = await env.call("get_tuple", cfg(thread_id, h.ids[-2]))
    assert got.pending_writes == [("task", "count", 5)]
    seen.clear()
    got = await env.call("get_tuple", cfg(thread_id))
    assert got.checkpoint["channel_values"] == {"count": 5, "topic": "t3", "joke": "j4"}
    assert seen == ["BEGIN", "SELECT c.thread_id,", "SELECT checkpoint_id,", "COMMIT"]


async def test_rows_without_the_table_field_read_the_same(env: Env, thread_id: str) -> None:
    """Rows written before documents listed their blob-table channels read as before."""
    if env.backend != "sqlite":
        pytest.skip("rewrites the SQLite file's rows")
    h = History(env, thread_id)
    items: list[Any] = []
    for i in range(40):
        items = [*items, i]
        updates: dict[str, Any] = {"items": items, "count": i}
        if i % 10 == 3:
            updates["text"] = "t" * (600 + i)
        if i % 7 == 0:
            updates["rare"] = i
        await h.step(**updates)
    await env.call("put_writes", cfg(thread_id, h.ids[-1]), [("items", ["w"])], "task")
    before = await read_all(env, thread_id, h.ids)

    def drop_table_field(doc: dict[str, Any]) -> None:
        assert "table" in doc
        del doc["table"]

    rewrite_documents(env, thread_id, drop_table_field)
    assert await read_all(env, thread_id, h.ids) == before
    await h.step(items=[*items, "next"])  # a put after reading an old row
    got = await env.call("get_tuple", cfg(thread_id), saver=await env.new_saver())
    assert got.checkpoint["channel_values"]["items"] == [*items, "next"]
    conn, serde = env.saver.conn, env.saver.serde
    assert "table" in serde.loads(
        conn.execute(
            "SELECT checkpoint FROM relaygraph_checkpoints WHERE checkpoint_id = ?",
            (h.ids[-1],),
        ).fetchone()[0]
    )
