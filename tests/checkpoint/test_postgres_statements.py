"""How a core plan becomes the PostgreSQL savers' statements (``_statements``): pure, no
database."""

from __future__ import annotations

from typing import Any

from relaygraph.checkpoint._sqlcore import ALL, MANY, Op, Plan
from relaygraph.checkpoint.postgres._queries import UPSERT_BLOB, UPSERT_BLOBS, UPSERT_WRITE
from relaygraph.checkpoint.postgres._statements import BEGIN, COMMIT, statements

READ = Op("SELECT 1", (), ALL)
WRITE = Op("UPDATE t SET x = 1")
OTHER = Op("DELETE FROM t")


def plan_of(*ops: Op) -> Plan[list[Any]]:
    """A plan yielding ``ops``; returns what its reads got."""
    got = []
    for op in ops:
        result = yield op
        if op.mode == ALL:
            got.append(result)
    return got


def run(plan: Plan[Any]) -> tuple[list[Op], Any]:
    """The statements ``plan`` comes down to, and its result (each read gets ``[n]``)."""
    sent: list[Op] = []
    gen = statements(plan)
    try:
        op = next(gen)
        while True:
            sent.append(op)
            op = gen.send([len(sent)] if op.mode == ALL else None)
    except StopIteration as stop:
        return sent, stop.value


def test_reads_and_a_lone_write_take_no_transaction() -> None:
    assert run(plan_of(READ, READ)) == ([READ, READ], [[1], [2]])
    assert run(plan_of(WRITE)) == ([WRITE], [])
    assert run(plan_of(READ, WRITE)) == ([READ, WRITE], [[1]])


def test_several_writes_or_a_write_then_a_read_take_one() -> None:
    assert run(plan_of(WRITE, OTHER)) == ([BEGIN, WRITE, OTHER, COMMIT], [])
    assert run(plan_of(WRITE, READ, OTHER)) == ([BEGIN, WRITE, READ, OTHER, COMMIT], [[3]])
    assert run(plan_of(READ, WRITE, READ)) == ([READ, BEGIN, WRITE, READ, COMMIT], [[1], [4]])


def test_many_rows_become_one_statement() -> None:
    one = Op(UPSERT_WRITE, [("t", "", "c", "task", 0, "ch", b"x", "")], MANY)
    assert run(plan_of(one)) == ([Op(UPSERT_WRITE, one.params[0])], [])

    rows = [
        ("t", "", "ch", "1", "full", None, b"a"),
        ("t", "", "other", "1", "full", None, b"b"),
        ("t", "", "ch", "1", "full", None, b"c"),  # same key: the last row wins
    ]
    sent, _ = run(plan_of(Op(UPSERT_BLOB, rows, MANY)))
    columns = [["t", "t"], ["", ""], ["ch", "other"], ["1", "1"]]
    columns += [["full", "full"], [None, None], [b"c", b"b"]]
    assert sent == [Op(UPSERT_BLOBS, columns)]


def test_many_rows_of_an_unknown_statement_take_a_transaction() -> None:
    many = Op("INSERT INTO t VALUES (%s)", [(1,), (2,)], MANY)
    assert run(plan_of(many)) == ([BEGIN, many, COMMIT], [])
