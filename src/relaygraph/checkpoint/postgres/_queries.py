"""PostgreSQL's named queries and schema migrations for the SQL saver core."""

from __future__ import annotations

from relaygraph.checkpoint._sqlcore import Dialect, portable_reads

LOCK_KEY = 0x52474350  # "RGCP": serialises setup() across processes

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
                checkpoint BYTEA NOT NULL,
                metadata BYTEA NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            )""",
            """CREATE TABLE IF NOT EXISTS relaygraph_checkpoint_blobs (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL DEFAULT '',
                channel TEXT NOT NULL,
                version TEXT NOT NULL,
                kind TEXT NOT NULL,
                base_version TEXT,
                data BYTEA NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
            )""",
            """CREATE TABLE IF NOT EXISTS relaygraph_checkpoint_writes (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL DEFAULT '',
                checkpoint_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                channel TEXT NOT NULL,
                data BYTEA NOT NULL,
                task_path TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            )""",
        ],
    ),
]

SETUP_LOCK = [f"SELECT pg_advisory_xact_lock({LOCK_KEY})"]
CREATE_MIGRATIONS = """CREATE TABLE IF NOT EXISTS relaygraph_checkpoint_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
APPLIED_MIGRATIONS = "SELECT version FROM relaygraph_checkpoint_migrations"
RECORD_MIGRATION = "INSERT INTO relaygraph_checkpoint_migrations (version) VALUES (%s)"

UPSERT_CHECKPOINT = """INSERT INTO relaygraph_checkpoints
    (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, source, step,
     checkpoint, metadata)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
    parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, source = EXCLUDED.source,
    step = EXCLUDED.step, checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata"""

UPSERT_BLOB = """INSERT INTO relaygraph_checkpoint_blobs
    (thread_id, checkpoint_ns, channel, version, kind, base_version, data)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE SET
    kind = EXCLUDED.kind, base_version = EXCLUDED.base_version, data = EXCLUDED.data"""

UPSERT_WRITE = """INSERT INTO relaygraph_checkpoint_writes AS w
    (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, data, task_path)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET
    channel = EXCLUDED.channel, data = EXCLUDED.data, task_path = EXCLUDED.task_path
WHERE EXCLUDED.idx < 0"""

UPSERT_BLOBS = """INSERT INTO relaygraph_checkpoint_blobs
    (thread_id, checkpoint_ns, channel, version, kind, base_version, data)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                     %s::bytea[])
ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE SET
    kind = EXCLUDED.kind, base_version = EXCLUDED.base_version, data = EXCLUDED.data"""

UPSERT_WRITES = """INSERT INTO relaygraph_checkpoint_writes AS w
    (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, data, task_path)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::text[],
                     %s::bytea[], %s::text[])
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET
    channel = EXCLUDED.channel, data = EXCLUDED.data, task_path = EXCLUDED.task_path
WHERE EXCLUDED.idx < 0"""

ARRAY_UPSERTS: dict[str, tuple[str, int]] = {
    UPSERT_BLOB: (UPSERT_BLOBS, 4),
    UPSERT_WRITE: (UPSERT_WRITES, 5),
}
"""Many-rows upserts as one statement: ``{row sql: (sql over column arrays, key columns)}``."""

SELECT_COLUMNS, SELECT_LATEST, SELECT_CHECKPOINT, SELECT_WRITES_OF = portable_reads("%s")

# The wanted blobs, then their delta bases, recursively (keys only; data joined at the end).
SELECT_BLOBS = """WITH RECURSIVE want(t, ns, ch, v) AS (
    SELECT e ->> 0, e ->> 1, e ->> 2, e ->> 3 FROM json_array_elements(%s::json) e
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
WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id <= %s
ORDER BY checkpoint_id DESC LIMIT %s"""

SELECT_WRITES = """SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.channel, w.data
FROM json_array_elements(%s::json) j JOIN relaygraph_checkpoint_writes w
  ON w.thread_id = j ->> 0 AND w.checkpoint_ns = j ->> 1 AND w.checkpoint_id = j ->> 2
ORDER BY w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx"""

DELETE_THREAD = [
    "DELETE FROM relaygraph_checkpoints WHERE thread_id = %s",
    "DELETE FROM relaygraph_checkpoint_blobs WHERE thread_id = %s",
    "DELETE FROM relaygraph_checkpoint_writes WHERE thread_id = %s",
]

COPY_THREAD = [
    """INSERT INTO relaygraph_checkpoints
    SELECT %s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, source, step, checkpoint,
           metadata
    FROM relaygraph_checkpoints WHERE thread_id = %s""",
    """INSERT INTO relaygraph_checkpoint_blobs
    SELECT %s, checkpoint_ns, channel, version, kind, base_version, data
    FROM relaygraph_checkpoint_blobs WHERE thread_id = %s""",
    """INSERT INTO relaygraph_checkpoint_writes
    SELECT %s, checkpoint_ns, checkpoint_id, task_id, idx, channel, data, task_path
    FROM relaygraph_checkpoint_writes WHERE thread_id = %s""",
]

SELECT_PRUNE = """SELECT checkpoint_ns, checkpoint_id, checkpoint FROM relaygraph_checkpoints
WHERE thread_id = %s ORDER BY checkpoint_ns, checkpoint_id DESC"""

SELECT_BLOB_KEYS = """SELECT checkpoint_ns, channel, version, base_version
FROM relaygraph_checkpoint_blobs WHERE thread_id = %s"""

DELETE_CHECKPOINTS = """DELETE FROM relaygraph_checkpoints WHERE thread_id = %s
AND (checkpoint_ns, checkpoint_id) IN
    (SELECT e ->> 0, e ->> 1 FROM json_array_elements(%s::json) e)"""

DELETE_WRITES = """DELETE FROM relaygraph_checkpoint_writes WHERE thread_id = %s
AND (checkpoint_ns, checkpoint_id) IN
    (SELECT e ->> 0, e ->> 1 FROM json_array_elements(%s::json) e)"""

DELETE_BLOBS = """DELETE FROM relaygraph_checkpoint_blobs WHERE thread_id = %s
AND (checkpoint_ns, channel, version) IN
    (SELECT e ->> 0, e ->> 1, e ->> 2 FROM json_array_elements(%s::json) e)"""

DIALECT = Dialect(
    p="%s",
    migrations=MIGRATIONS,
    setup_lock=SETUP_LOCK,
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
