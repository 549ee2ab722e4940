"""The one implementation of the SQL savers, written as *plans*: generators of queries.

Every saver operation here is a generator that yields :class:`Op` (a named query from the
backend's :class:`Dialect`, its parameters, and how to run it) and receives the fetched rows.
It holds all the logic — rows to write, deltas, filters, assembling ``CheckpointTuple`` —
and does no I/O. The sync and async faces of each backend run a plan inside one
transaction with :func:`drive` or :func:`adrive`; that is all that differs between them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from relaygraph.checkpoint._blobs import (
    BlobKey,
    BlobReader,
    Entry,
    HeadCache,
    add_owned,
    add_rows,
    missing_keys,
    owner_of,
    plan_blobs,
    reachable,
    row_first_keys,
    wanted_keys,
)
from relaygraph.checkpoint.base import Checkpoint, CheckpointMetadata, CheckpointTuple
from relaygraph.checkpoint.serde import CheckpointSerializationError, JsonPlusSerializer
from relaygraph.constants import ERROR, INTERRUPT, RESUME

T = TypeVar("T")
SPECIAL_WRITES = {ERROR: -1, INTERRUPT: -3, RESUME: -4}
"""Writes with a fixed index: a later write replaces an earlier one (memory saver's rule)."""

NONE, ALL, MANY = "none", "all", "many"


class Op(NamedTuple):
    """One query of a plan: ``mode`` is ``none`` (execute), ``all`` (fetch) or ``many``."""

    sql: str
    params: Any = ()
    mode: str = NONE


Plan = Generator[Op, Any, T]


def portable_reads(p: str) -> tuple[str, str, str, str]:
    """The reads both dialects spell alike, with placeholder ``p``: ``(select_columns,
    select_latest, select_checkpoint, select_writes_of)`` (see :class:`Dialect`)."""
    columns = """SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
    source, step, checkpoint, metadata FROM relaygraph_checkpoints"""
    # one checkpoint, with its parent's document (the likeliest owner of the values it does
    # not own itself) and whether it has pending writes
    one = f"""SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
    c.source, c.step, c.checkpoint, c.metadata, p.checkpoint,
    EXISTS (SELECT 1 FROM relaygraph_checkpoint_writes w WHERE w.thread_id = c.thread_id
            AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id)
FROM relaygraph_checkpoints c LEFT JOIN relaygraph_checkpoints p
  ON p.thread_id = c.thread_id AND p.checkpoint_ns = c.checkpoint_ns
 AND p.checkpoint_id = c.parent_checkpoint_id
WHERE c.thread_id = {p} AND c.checkpoint_ns = {p}"""
    writes_of = f"""SELECT task_id, channel, data FROM relaygraph_checkpoint_writes
WHERE thread_id = {p} AND checkpoint_ns = {p} AND checkpoint_id = {p}
ORDER BY task_id, idx"""
    latest = one + " ORDER BY c.checkpoint_id DESC LIMIT 1"
    return columns, latest, f"{one} AND c.checkpoint_id = {p}", writes_of


@dataclass(frozen=True)
class Dialect:
    """A backend's named queries. ``p`` is its parameter placeholder (``?`` or ``%s``)."""

    p: str
    migrations: Sequence[tuple[int, Sequence[str]]]
    setup_lock: Sequence[str]
    create_migrations: str
    applied_migrations: str
    record_migration: str
    upsert_checkpoint: str
    upsert_blob: str
    upsert_write: str
    select_columns: str  # "SELECT <checkpoint columns> FROM <table>", WHERE added per call
    select_latest: str  # (thread, ns) -> checkpoint columns, parent's checkpoint, has writes
    select_checkpoint: str  # (thread, ns, checkpoint_id) -> the same
    select_blobs: str  # (json [[thread, ns, channel, version], ...]) -> blob rows + chains
    select_owned: str  # (thread, ns, checkpoint_id, limit) -> checkpoint_id, checkpoint
    select_writes: str  # (json [[thread, ns, checkpoint_id], ...]) -> write rows
    select_writes_of: str  # (thread, ns, checkpoint_id) -> task_id, channel, data
    delete_thread: Sequence[str]  # each takes (thread_id,)
    copy_thread: Sequence[str]  # each takes (dst, src)
    select_prune: str  # (thread_id,) -> ns, checkpoint_id, checkpoint
    select_blob_keys: str  # (thread_id,) -> ns, channel, version, base_version
    delete_checkpoints: str  # (thread_id, json [[ns, checkpoint_id], ...])
    delete_writes: str  # same
    delete_blobs: str  # (thread_id, json [[ns, channel, version], ...])


def drive(plan: Plan[T], execute: Callable[[Op], Any]) -> T:
    """Run ``plan`` with a blocking ``execute``."""
    try:
        op = next(plan)
        while True:
            op = plan.send(execute(op))
    except StopIteration as stop:
        return stop.value


async def adrive(plan: Plan[T], execute: Callable[[Op], Awaitable[Any]]) -> T:
    """Run ``plan`` with an async ``execute``."""
    try:
        op = next(plan)
        while True:
            op = plan.send(await execute(op))
    except StopIteration as stop:
        return stop.value


def _conf(config: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict((config or {}).get("configurable") or {})


def _config(thread_id: str, ns: str, checkpoint_id: str) -> dict[str, Any]:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


Tuples = list[CheckpointTuple]
Writes = list[tuple[str, str, Any]]
"""A checkpoint's pending writes: ``(task_id, channel, value)``."""


class SqlCore:
    """The saver algorithm shared by every SQL backend and both faces."""

    def __init__(self, dialect: Dialect, serde: JsonPlusSerializer | None = None) -> None:
        self.q = dialect
        self.serde = serde or JsonPlusSerializer()
        self.heads = HeadCache()

    # == schema ==========================================================================
    def setup(self) -> Plan[list[int]]:
        """Apply the migrations not yet recorded; returns the versions applied."""
        for sql in self.q.setup_lock:
            yield Op(sql)
        yield Op(self.q.create_migrations)
        done = {row[0] for row in (yield Op(self.q.applied_migrations, (), ALL))}
        applied: list[int] = []
        for version, statements in self.q.migrations:
            if version in done:
                continue
            for sql in statements:
                yield Op(sql)
            yield Op(self.q.record_migration, (version,))
            applied.append(version)
        return applied

    # == writes ==========================================================================
    def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Mapping[str, Any],
    ) -> Plan[dict[str, Any]]:
        conf = _conf(config)
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns") or ""
        parent = conf.get("checkpoint_id")
        cid = checkpoint["id"]
        head = self.heads.get(thread_id, ns, parent)
        refs, inline, where, rows, new_head = plan_blobs(
            self.serde,
            thread_id,
            ns,
            cid,
            checkpoint.get("channel_values") or {},
            checkpoint.get("channel_versions") or {},
            new_versions,
            head,
        )
        doc = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        stored: dict[str, Any] = {"cp": doc, "refs": refs, "inline": inline, **where}
        try:
            blob = self.serde.dumps(stored)
        except CheckpointSerializationError:
            for ch, value in where.get("own", {}).items():  # name the channel that failed
                self.serde.dumps(value, channel=ch)
            raise
        step = metadata.get("step")
        yield Op(
            self.q.upsert_checkpoint,
            (
                thread_id,
                ns,
                cid,
                parent,
                metadata.get("source"),
                step if type(step) is int else None,
                blob,
                self.serde.dumps(metadata),
            ),
        )
        if rows:
            yield Op(self.q.upsert_blob, rows, MANY)
        self.heads.put(thread_id, ns, new_head)
        return _config(thread_id, ns, cid)

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> Plan[None]:
        conf = _conf(config)
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns") or ""
        cid = conf["checkpoint_id"]
        rows = [
            (
                thread_id,
                ns,
                cid,
                task_id,
                SPECIAL_WRITES.get(channel, idx),
                channel,
                self.serde.dumps(value, channel=channel),
                task_path,
            )
            for idx, (channel, value) in enumerate(writes)
        ]
        if rows:
            yield Op(self.q.upsert_write, rows, MANY)

    def delete_thread(self, thread_id: str) -> Plan[None]:
        self.heads.forget(str(thread_id))
        for sql in self.q.delete_thread:
            yield Op(sql, (str(thread_id),))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> Plan[None]:
        """Replace the target thread with a copy of every checkpoint, blob and write."""
        src, dst = str(source_thread_id), str(target_thread_id)
        if src == dst:
            return
        yield from self.delete_thread(dst)
        for sql in self.q.copy_thread:
            yield Op(sql, (dst, src))

    def prune(self, thread_id: str, keep_latest: int = 1) -> Plan[int]:
        """Keep the newest ``keep_latest`` checkpoints per namespace; returns how many went."""
        if keep_latest < 0:
            raise ValueError("keep_latest must be >= 0")
        thread_id = str(thread_id)
        self.heads.forget(thread_id)
        rows = yield Op(self.q.select_prune, (thread_id,), ALL)  # ns, id DESC
        kept_refs: list[tuple[str, dict[str, str]]] = []
        dropped: list[list[str]] = []
        dropped_owned: dict[BlobKey, Entry] = {}
        owned: dict[BlobKey, Entry] = {}
        per_ns: dict[str, int] = {}
        for ns, cid, blob in rows:
            doc = self.serde.loads(blob)
            per_ns[ns] = per_ns.get(ns, 0) + 1
            if per_ns[ns] <= keep_latest:
                kept_refs.append((ns, doc["refs"]))
                add_owned(owned, thread_id, ns, doc)
            else:
                dropped.append([ns, cid])
                add_owned(dropped_owned, thread_id, ns, doc)
        if not dropped:
            return 0
        keys = yield Op(self.q.select_blob_keys, (thread_id,), ALL)
        bases = {(thread_id, ns, ch, v): base for ns, ch, v, base in keys}
        in_table = set(bases)
        for k, entry in (*owned.items(), *dropped_owned.items()):
            bases[k] = entry[1]
        live = reachable(
            (k for ns, refs in kept_refs for k in wanted_keys(thread_id, ns, refs)), bases
        )
        # entries still in use that the dropped rows own move to the blob table
        moved = [
            (*k, e[0], e[1], self.serde.dumps(e[3], channel=k[2]))
            for k, e in dropped_owned.items()
            if k in live and k not in in_table
        ]
        if moved:
            yield Op(self.q.upsert_blob, moved, MANY)
        yield Op(self.q.delete_checkpoints, (thread_id, json.dumps(dropped)))
        yield Op(self.q.delete_writes, (thread_id, json.dumps(dropped)))
        dead = [[k[1], k[2], k[3]] for k in in_table if k not in live]
        if dead:
            yield Op(self.q.delete_blobs, (thread_id, json.dumps(dead)))
        return len(dropped)

    # == reads ===========================================================================
    def get_tuple(self, config: Mapping[str, Any]) -> Plan[CheckpointTuple | None]:
        """One query in the common case: the row comes with its parent's document (which
        owns most of the values the row does not) and whether it has pending writes."""
        conf = _conf(config)
        thread_id, ns = str(conf.get("thread_id")), conf.get("checkpoint_ns") or ""
        cid = conf.get("checkpoint_id")
        if cid:
            rows = yield Op(self.q.select_checkpoint, (thread_id, ns, cid), ALL)
        else:
            rows = yield Op(self.q.select_latest, (thread_id, ns), ALL)
        if not rows:
            return None
        row = rows[0]
        thread_id, ns, cid, parent, parent_blob = row[0], row[1], row[2], row[3], row[8]
        loads = self.serde.loads
        doc = loads(row[6])
        entries: dict[BlobKey, Entry] = {}
        add_owned(entries, thread_id, ns, doc)
        want = wanted_keys(thread_id, ns, doc["refs"])
        rows_read: set[tuple[str, str, str]] = set()
        if parent_blob is not None and any(
            owner_of(k[3]) == parent for k in missing_keys(want, entries)
        ):
            add_owned(entries, thread_id, ns, loads(parent_blob))
            rows_read.add((thread_id, ns, parent))
        row_first = set(row_first_keys(thread_id, ns, doc))
        yield from self._fetch_blobs(want, entries, row_first, rows_read)
        writes: Writes = []
        if row[9]:
            found = yield Op(self.q.select_writes_of, (thread_id, ns, cid), ALL)
            writes = [(task_id, channel, loads(data)) for task_id, channel, data in found]
        reader = BlobReader(self.serde, entries)
        return self._tuple(row, doc, reader, writes, remember=True)

    def list(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Plan[Tuples]:
        conf, p = _conf(config), self.q.p
        conds: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("thread_id", None if conf.get("thread_id") is None else str(conf["thread_id"])),
            ("checkpoint_ns", conf.get("checkpoint_ns")),
            ("checkpoint_id", conf.get("checkpoint_id")),
        ):
            if value is not None:
                conds.append(f"{column} = {p}")
                params.append(value)
        before_id = _conf(before).get("checkpoint_id")
        if before_id:
            conds.append(f"checkpoint_id < {p}")
            params.append(before_id)
        rest = dict(filter or {})
        for column, typ in (("source", str), ("step", int)):
            if column in rest and type(rest[column]) is typ:
                conds.append(f"{column} = {p}")
                params.append(rest.pop(column))
        sql = self.q.select_columns + (" WHERE " + " AND ".join(conds) if conds else "")
        sql += " ORDER BY checkpoint_id DESC"
        if limit is not None and not rest:
            sql += f" LIMIT {int(limit)}"
        rows = yield Op(sql, tuple(params), ALL)
        if rest:
            loads = self.serde.loads
            rows = [r for r in rows if _matches(loads(r[7]), rest)]
            rows = rows if limit is None else rows[: max(limit, 0)]
        if not rows:
            return []
        return (yield from self._load(rows, remember=False))

    def _load(self, rows: Sequence[Any], *, remember: bool) -> Plan[Tuples]:
        """Checkpoint rows -> tuples: fetch their blobs and pending writes."""
        loads = self.serde.loads
        docs = [loads(r[6]) for r in rows]
        entries: dict[BlobKey, Entry] = {}
        want: list[BlobKey] = []
        row_first: set[BlobKey] = set()
        for r, doc in zip(rows, docs, strict=True):
            add_owned(entries, r[0], r[1], doc)
            want += wanted_keys(r[0], r[1], doc["refs"])
            row_first.update(row_first_keys(r[0], r[1], doc))
        yield from self._fetch_blobs(want, entries, row_first)
        reader = BlobReader(self.serde, entries)
        triples = json.dumps([[r[0], r[1], r[2]] for r in rows])
        writes: dict[tuple[str, str, str], Writes] = {}
        for t, ns, cid, task_id, channel, data in (yield Op(self.q.select_writes, (triples,), ALL)):
            writes.setdefault((t, ns, cid), []).append((task_id, channel, loads(data)))
        return [
            self._tuple(r, doc, reader, writes.get((r[0], r[1], r[2]), []), remember=remember)
            for r, doc in zip(rows, docs, strict=True)
        ]

    def _tuple(
        self,
        row: Sequence[Any],
        doc: Any,
        reader: BlobReader,
        writes: Writes,
        *,
        remember: bool,
    ) -> CheckpointTuple:
        """A checkpoint row and its decoded document as a tuple (``reader`` holds its blobs);
        ``remember``: make it the thread's head in the cache."""
        thread_id, ns, cid, parent = row[0], row[1], row[2], row[3]
        checkpoint: Any = doc["cp"]
        values, head = reader.values(thread_id, ns, cid, doc["refs"])
        versions = checkpoint.get("channel_versions") or {}
        head.versions = {ch: versions.get(ch) for ch in head.refs}
        checkpoint["channel_values"] = {**doc["inline"], **values}
        if remember:
            self.heads.put(thread_id, ns, head)
        return CheckpointTuple(
            config=_config(thread_id, ns, cid),
            checkpoint=checkpoint,
            metadata=self.serde.loads(row[7]),
            parent_config=_config(thread_id, ns, parent) if parent else None,
            pending_writes=writes,
        )

    def _fetch_blobs(
        self,
        keys: Sequence[BlobKey],
        entries: dict[BlobKey, Entry],
        row_first: Set[BlobKey],
        rows_read: Set[tuple[str, str, str]] = frozenset(),
    ) -> Plan[None]:
        """Add to ``entries`` what reading ``keys`` needs, from the blob table and owner rows.

        Each round asks the blob table (following its delta chains) for the keys still
        missing, then, per thread and namespace, the newest rows up to the newest missing
        key's owner, as many as the chain may still be deep. Keys most likely in a row
        (``row_first``, and bases of deltas that are deltas themselves) skip the blob table
        until the rows have been asked; ``rows_read`` names the ``(thread, ns, checkpoint)``
        rows whose owned entries ``entries`` already holds. A chain written by one run
        takes a round; keys found nowhere are left for :class:`BlobReader` to report.
        """
        pending = missing_keys(keys, entries)
        in_table: set[BlobKey] = set()
        in_rows: set[BlobKey] = set()
        loads = self.serde.loads
        while pending:
            ask = [
                k
                for k, depth in pending.items()
                if k not in in_table and (k in in_rows or (depth < 2 and k not in row_first))
            ]
            if ask:
                in_table.update(ask)
                found = yield Op(self.q.select_blobs, (json.dumps(ask),), ALL)
                add_rows(entries, found)
                pending = missing_keys(pending, entries)
            groups: dict[tuple[str, str], list[BlobKey]] = {}
            for k in pending:
                if k in in_rows:
                    continue
                if rows_read and (k[0], k[1], owner_of(k[3])) in rows_read:
                    in_rows.add(k)  # not in its row: only the blob table is left
                else:
                    groups.setdefault((k[0], k[1]), []).append(k)
            if not groups:
                if any(k not in in_table for k in pending):
                    continue
                return
            for (thread_id, ns), group in groups.items():
                cid = max(owner_of(k[3]) for k in group)
                limit = max(pending[k] for k in group)
                owners = yield Op(self.q.select_owned, (thread_id, ns, cid, limit), ALL)
                for _, blob in owners:
                    add_owned(entries, thread_id, ns, loads(blob))
                low = owners[-1][0] if len(owners) >= limit else ""  # rows seen: low..cid
                in_rows.update(k for k in group if owner_of(k[3]) >= low)
            pending = missing_keys(pending, entries)


def _matches(metadata: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    return all(metadata.get(k) == v for k, v in filter.items())
