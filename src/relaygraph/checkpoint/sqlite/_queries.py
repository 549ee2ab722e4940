"""SQLite's named queries and schema migrations for the SQL saver core."""

from __future__ import annotations

from relaygraph.checkpoint._sqlcore import Dialect, portable_reads

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE IF NOT EXISTS relaygraph_checkpoints (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL DEFAULT '',
                checkpoint_id TEXT NOT NULL,
                parent_checkpoint_id TEXT,
                source TEXT,
                step INTEGER,
                checkpoint BLOB NOT NULL,
                metadata BLOB NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE IF NOT EXISTS relaygraph_checkpoint_blobs (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL DEFAULT '',
                channel TEXT NOT NULL,
                version TEXT NOT NULL,
                kind TEXT NOT NULL,
                base_version TEXT,
                data BLOB NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
            ) WITHOUT ROWID""",
            """CREATE TABLE IF NOT EXISTS relaygraph_checkpoint_writes (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL DEFAULT '',
                checkpoint_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                channel TEXT NOT NULL,
                data BLOB NOT NULL,
                task_path TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            ) WITHOUT ROWID""",
        ],
    ),
]

CREATE_MIGRATIONS = """CREATE TABLE IF NOT EXISTS relaygraph_checkpoint_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)"""
APPLIED_MIGRATIONS = "SELECT version FROM relaygraph_checkpoint_migrations"
RECORD_MIGRATION = "INSERT INTO relaygraph_checkpoint_migrations (version) VALUES (?)"

UPSERT_CHECKPOINT = """INSERT INTO relaygraph_checkpoints
    (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, source, step,
     checkpoint, metadata)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
    parent_checkpoint_id = excluded.parent_checkpoint_id, source = excluded.source,
    step = excluded.step, checkpoint = excluded.checkpoint, metadata = excluded.metadata"""

UPSERT_BLOB = """INSERT INTO relaygraph_checkpoint_blobs
    (thread_id, checkpoint_ns, channel, version, kind, base_version, data)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE SET
    kind = excluded.kind, base_version = excluded.base_version, data = excluded.data"""

UPSERT_WRITE = """INSERT INTO relaygraph_checkpoint_writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, data, task_path)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET
    channel = excluded.channel, data = excluded.data, task_path = excluded.task_path
WHERE excluded.idx < 0"""

SELECT_COLUMNS, SELECT_LATEST, SELECT_CHECKPOINT, SELECT_WRITES_OF = portable_reads("?")

# The wanted blobs, then their delta bases, recursively (keys only; data joined at the end).
SELECT_BLOBS = """WITH RECURSIVE want(t, ns, ch, v) AS (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), json_extract(value, '$[3]')
    FROM json_each(?)
    UNION
    SELECT b.thread_id, b.checkpoint_ns, b.channel, b.base_version
    FROM relaygraph_checkpoint_blobs b JOIN want w
      ON b.thread_id = w.t AND b.checkpoint_ns = w.ns AND b.channel = w.ch AND b.version = w.v
    WHERE b.base_version IS NOT NULL
)
SELECT b.thread_id, b.checkpoint_ns, b.channel, b.version, b.kind, b.base_version, b.data
FROM want w JOIN relaygraph_checkpoint_blobs b
  ON b.thread_id = w.t AND b.checkpoint_ns = w.ns AND b.channel = w.ch AND b.version = w.v"""

# Rows that may own the blobs of a delta chain: the newest ``limit`` up to ``checkpoint_id``.
SELECT_OWNED = """SELECT checkpoint_id, checkpoint FROM relaygraph_checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id <= ?
ORDER BY checkpoint_id DESC LIMIT ?"""

SELECT_WRITES = """SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.channel, w.data
FROM json_each(?) j JOIN relaygraph_checkpoint_writes w
  ON w.thread_id = json_extract(j.value, '$[0]')
 AND w.checkpoint_ns = json_extract(j.value, '$[1]')
 AND w.checkpoint_id = json_extract(j.value, '$[2]')
ORDER BY w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx"""

DELETE_THREAD = [
    "DELETE FROM relaygraph_checkpoints WHERE thread_id = ?",
    "DELETE FROM relaygraph_checkpoint_blobs WHERE thread_id = ?",
    "DELETE FROM relaygraph_checkpoint_writes WHERE thread_id = ?",
]

COPY_THREAD = [
    """INSERT INTO relaygraph_checkpoints
    SELECT ?1, checkpoint_ns, checkpoint_id, parent_checkpoint_id, source, step, checkpoint,
           metadata
    FROM relaygraph_checkpoints WHERE thread_id = ?2""",
    """INSERT INTO relaygraph_checkpoint_blobs
    SELECT ?1, checkpoint_ns, channel, version, kind, base_version, data
    FROM relaygraph_checkpoint_blobs WHERE thread_id = ?2""",
    """INSERT INTO relaygraph_checkpoint_writes
    SELECT ?1, checkpoint_ns, checkpoint_id, task_id, idx, channel, data, task_path
    FROM relaygraph_checkpoint_writes WHERE thread_id = ?2""",
]

SELECT_PRUNE = """SELECT checkpoint_ns, checkpoint_id, checkpoint FROM relaygraph_checkpoints
WHERE thread_id = ? ORDER BY checkpoint_ns, checkpoint_id DESC"""

SELECT_BLOB_KEYS = """SELECT checkpoint_ns, channel, version, base_version
FROM relaygraph_checkpoint_blobs WHERE thread_id = ?"""

DELETE_CHECKPOINTS = """DELETE FROM relaygraph_checkpoints WHERE thread_id = ?1
AND (checkpoint_ns, checkpoint_id) IN
    (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))"""

DELETE_WRITES = """DELETE FROM relaygraph_checkpoint_writes WHERE thread_id = ?1
AND (checkpoint_ns, checkpoint_id) IN
    (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))"""

DELETE_BLOBS = """DELETE FROM relaygraph_checkpoint_blobs WHERE thread_id = ?1
AND (checkpoint_ns, channel, version) IN
    (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
     FROM json_each(?2))"""

DIALECT = Dialect(
    p="?",
    migrations=MIGRATIONS,
    setup_lock=(),  # the face opens setup's transaction with BEGIN IMMEDIATE
    create_migrations=CREATE_MIGRATIONS,
    applied_migrations=APPLIED_MIGRATIONS,
    record_migration=RECORD_MIGRATION,
    upsert_checkpoint=UPSERT_CHECKPOINT,
    upsert_blob=UPSERT_BLOB,
    upsert_write=UPSERT_WRITE,
    select_columns=SELECT_COLUMNS,
    select_latest=SELECT_LATEST,
    select_checkpoint=SELECT_CHECKPOINT,
    select_blobs=SELECT_BLOBS,
    select_owned=SELECT_OWNED,
    select_writes=SELECT_WRITES,
    select_writes_of=SELECT_WRITES_OF,
    delete_thread=DELETE_THREAD,
    copy_thread=COPY_THREAD,
    select_prune=SELECT_PRUNE,
    select_blob_keys=SELECT_BLOB_KEYS,
    delete_checkpoints=DELETE_CHECKPOINTS,
    delete_writes=DELETE_WRITES,
    delete_blobs=DELETE_BLOBS,
)
