"""A core plan as the statements an autocommit PostgreSQL connection runs, in few round trips.

Both faces drive :func:`statements` instead of the core's plan; it yields the same queries,
rearranged, plus :data:`BEGIN` and :data:`COMMIT` markers (the faces enter and leave a
psycopg transaction on them):

* Queries whose result the plan does not read (its writes) wait until it reads, or ends, so
  that it is known whether they need a transaction: a lone statement is atomic by itself and
  runs without one, saving the ``BEGIN`` and ``COMMIT`` round trips of the commonest writes
  (``put`` of a checkpoint that keeps its values in its row, ``put_writes``).
* A many-rows upsert is one statement over arrays (``unnest``), not psycopg's
  ``executemany`` (a pipeline, dearer than one statement, and one statement per row).
* Reads run outside any transaction until a write has to go first (it may not be alone):
  at READ COMMITTED, PostgreSQL's default, a transaction gives each statement its own
  snapshot all the same.
"""

from __future__ import annotations

from typing import TypeVar

from relaygraph.checkpoint._sqlcore import ALL, MANY, Op, Plan
from relaygraph.checkpoint.postgres._queries import ARRAY_UPSERTS

__all__ = ["BEGIN", "COMMIT", "statements"]

T = TypeVar("T")

BEGIN = Op("BEGIN")
COMMIT = Op("COMMIT")


def one_statement(op: Op) -> Op:
    """``op`` as one statement where it can be: a many-rows upsert over arrays."""
    if op.mode != MANY:
        return op
    rows = op.params
    if len(rows) == 1:
        return Op(op.sql, rows[0])
    form = ARRAY_UPSERTS.get(op.sql)
    if form is None:
        return op
    sql, key_size = form
    # one row per key (an upsert may not touch a row twice); the last wins, as one by one
    unique = {tuple(row[:key_size]): row for row in rows}
    return Op(sql, [list(column) for column in zip(*unique.values(), strict=True)])


def statements(plan: Plan[T]) -> Plan[T]:
    """``plan``'s queries in the order to run them, in a transaction only when needed."""
    queued: list[Op] = []
    began = False
    try:
        op = next(plan)
        while True:
            if op.mode != ALL:
                queued.append(one_statement(op))
                op = plan.send(None)
                continue
            if queued:
                if not began:
                    began = True
                    yield BEGIN
                for q in queued:
                    yield q
                queued.clear()
            op = plan.send((yield op))
    except StopIteration as stop:
        result: T = stop.value
    if len(queued) == 1 and not began and queued[0].mode != MANY:
        yield queued[0]
    elif queued:
        if not began:
            began = True
            yield BEGIN
        for q in queued:
            yield q
    if began:
        yield COMMIT
    return result
