-- Named queries for PostgresStorage. Each starts with a "-- name: <name>" line.
-- Parameters are psycopg's %(name)s, each cast to its type. JSON columns are JSONB (JSON text
-- in, cast with ::jsonb); search filters use JSONB containment (@>). Tables live in the
-- schema the connection's search_path names. Timestamps the caller gives as ISO strings stay
-- TEXT, as in SQLite; run_at, lease_until and ended_at are DOUBLE PRECISION epoch seconds.
-- A migration runs as one query without parameters (so it may hold several statements).

-- name: setup_lock
-- Migrations run one process at a time (per database and schema), in one transaction.
SELECT pg_advisory_xact_lock(hashtext('relaygraph.server.storage:' || coalesce(current_schema(), '')))

-- name: create_migrations
CREATE TABLE IF NOT EXISTS relaygraph_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)

-- name: applied_migrations
SELECT coalesce(max(version), 0) AS version FROM relaygraph_migrations

-- name: record_migration
INSERT INTO relaygraph_migrations (version) VALUES (%(version)s::int)

-- name: migrate_1
-- rowseq: insertion order (SQLite's rowid), the tie-break of searches; never returned.
CREATE TABLE assistants (
    assistant_id TEXT PRIMARY KEY,
    graph_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    config JSONB NOT NULL,
    context JSONB NOT NULL,
    metadata JSONB NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rowseq BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX assistants_metadata ON assistants USING gin (metadata jsonb_path_ops);
CREATE TABLE assistant_versions (
    assistant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    graph_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    config JSONB NOT NULL,
    context JSONB NOT NULL,
    metadata JSONB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (assistant_id, version)
);
CREATE TABLE threads (
    thread_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state_updated_at TEXT NOT NULL,
    metadata JSONB NOT NULL,
    status TEXT NOT NULL,
    config JSONB NOT NULL,
    state_values JSONB,
    error JSONB,
    interrupts JSONB NOT NULL DEFAULT '{}',
    rowseq BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX threads_metadata ON threads USING gin (metadata jsonb_path_ops);
CREATE TABLE runs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    metadata JSONB NOT NULL,
    status TEXT NOT NULL,
    kwargs JSONB NOT NULL,
    multitask_strategy TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    run_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    worker_id TEXT,
    lease_until DOUBLE PRECISION,
    attempt INTEGER NOT NULL DEFAULT 0,
    cancel_action TEXT,
    started_at TEXT
);
CREATE INDEX runs_by_thread ON runs (thread_id, seq);
CREATE INDEX runs_pending ON runs (seq) WHERE status = 'pending';
CREATE INDEX runs_ended ON runs (ended_at) WHERE ended_at IS NOT NULL;
-- one running run per thread, enforced by the database
CREATE UNIQUE INDEX runs_one_running ON runs (thread_id) WHERE status = 'running';
CREATE INDEX runs_by_worker ON runs (worker_id) WHERE status = 'running';
CREATE INDEX runs_leases ON runs (lease_until) WHERE status = 'running';
CREATE TABLE run_events (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (run_id, seq)
)

-- name: migrate_2
-- a thread's pending and running runs without scanning its finished ones
CREATE INDEX runs_inflight ON runs (thread_id, seq) WHERE status IN ('pending', 'running')

-- name: migrate_3
-- finish_run in one round trip: the function runs finish_run's three statements in the
-- caller's transaction, each seeing what committed before it began (a volatile function's
-- statements take their own snapshots at READ COMMITTED), as three statements in a
-- transaction do. It returns whether the run was finished (the owner fences it); the thread,
-- when given, gets its fields (update_thread's) and stays busy while another of its runs is
-- pending or running.
ALTER TABLE runs ADD COLUMN handoffs INTEGER NOT NULL DEFAULT 0;  -- not failures (see reap)
-- update_thread's one definition (absent fields keep their value; the set_* flags let values
-- and error be cleared), called by the update_thread query and by relaygraph_finish_run
CREATE FUNCTION relaygraph_update_thread(
    p_thread_id TEXT, p_metadata JSONB, p_status TEXT, p_config JSONB, p_set_values BOOLEAN,
    p_values JSONB, p_set_error BOOLEAN, p_error JSONB, p_interrupts JSONB, p_updated_at TEXT,
    p_state_updated_at TEXT
) RETURNS VOID LANGUAGE sql AS $$
    UPDATE threads SET
        metadata = coalesce(p_metadata, metadata),
        status = coalesce(p_status, status),
        config = coalesce(p_config, config),
        state_values = CASE WHEN p_set_values THEN p_values ELSE state_values END,
        error = CASE WHEN p_set_error THEN p_error ELSE error END,
        interrupts = coalesce(p_interrupts, interrupts),
        updated_at = coalesce(p_updated_at, updated_at),
        state_updated_at = coalesce(p_state_updated_at, state_updated_at)
    WHERE thread_id = p_thread_id
$$;
-- after a run ended: its thread stays busy while another of its runs is pending or running
CREATE FUNCTION relaygraph_thread_busy_if_inflight(p_thread_id TEXT) RETURNS VOID
LANGUAGE sql AS $$
    UPDATE threads SET status = 'busy'
    WHERE thread_id = p_thread_id AND EXISTS (
        SELECT 1 FROM runs WHERE thread_id = p_thread_id AND status IN ('pending', 'running'))
$$;
CREATE FUNCTION relaygraph_finish_run(
    p_run_id TEXT, p_status TEXT, p_ended_at DOUBLE PRECISION, p_updated_at TEXT,
    p_kwargs JSONB, p_owner TEXT, p_thread_id TEXT, p_metadata JSONB, p_thread_status TEXT,
    p_config JSONB, p_set_values BOOLEAN, p_values JSONB, p_set_error BOOLEAN, p_error JSONB,
    p_interrupts JSONB, p_thread_updated_at TEXT, p_state_updated_at TEXT
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    UPDATE runs SET status = p_status, ended_at = p_ended_at, updated_at = p_updated_at,
        kwargs = coalesce(p_kwargs, kwargs), worker_id = NULL, lease_until = NULL
    WHERE run_id = p_run_id
      AND (p_owner IS NULL OR (worker_id = p_owner AND status = 'running'));
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    IF p_thread_id IS NOT NULL THEN
        PERFORM relaygraph_update_thread(
            p_thread_id, p_metadata, p_thread_status, p_config, p_set_values, p_values,
            p_set_error, p_error, p_interrupts, p_thread_updated_at, p_state_updated_at);
        PERFORM relaygraph_thread_busy_if_inflight(p_thread_id);
    END IF;
    RETURN TRUE;
END
$$

-- name: insert_assistant
INSERT INTO assistants
    (assistant_id, graph_id, name, description, config, context, metadata, version, created_at, updated_at)
VALUES (%(assistant_id)s::text, %(graph_id)s::text, %(name)s::text, %(description)s::text,
        %(config)s::jsonb, %(context)s::jsonb, %(metadata)s::jsonb, %(version)s::int,
        %(created_at)s::text, %(updated_at)s::text)
ON CONFLICT (assistant_id) DO NOTHING

-- name: insert_assistant_version
INSERT INTO assistant_versions
    (assistant_id, version, graph_id, name, description, config, context, metadata, created_at)
VALUES (%(assistant_id)s::text, %(version)s::int, %(graph_id)s::text, %(name)s::text,
        %(description)s::text, %(config)s::jsonb, %(context)s::jsonb, %(metadata)s::jsonb,
        %(created_at)s::text)
ON CONFLICT (assistant_id, version) DO UPDATE SET
    graph_id = excluded.graph_id, name = excluded.name, description = excluded.description,
    config = excluded.config, context = excluded.context, metadata = excluded.metadata,
    created_at = excluded.created_at

-- name: set_assistant
UPDATE assistants SET graph_id = %(graph_id)s::text, name = %(name)s::text,
    description = %(description)s::text, config = %(config)s::jsonb, context = %(context)s::jsonb,
    metadata = %(metadata)s::jsonb, version = %(version)s::int, updated_at = %(updated_at)s::text
WHERE assistant_id = %(assistant_id)s::text

-- name: get_assistant
SELECT * FROM assistants WHERE assistant_id = %(assistant_id)s::text

-- name: get_assistant_version
SELECT * FROM assistant_versions
WHERE assistant_id = %(assistant_id)s::text AND version = %(version)s::int

-- name: list_assistant_versions
SELECT * FROM assistant_versions
WHERE assistant_id = %(assistant_id)s::text
  AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)
ORDER BY version DESC LIMIT %(limit)s::bigint OFFSET %(offset)s::bigint

-- name: delete_assistant
DELETE FROM assistants WHERE assistant_id = %(assistant_id)s::text

-- name: delete_assistant_versions
DELETE FROM assistant_versions WHERE assistant_id = %(assistant_id)s::text

-- name: search_assistants
SELECT *, count(*) OVER () AS total FROM assistants
WHERE (%(graph_id)s::text IS NULL OR graph_id = %(graph_id)s::text)
  AND (%(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s::text)) > 0)
  AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)
ORDER BY
  CASE WHEN %(descending)s::boolean THEN CASE %(sort_by)s::text WHEN 'assistant_id' THEN assistant_id
       WHEN 'updated_at' THEN updated_at WHEN 'name' THEN name WHEN 'graph_id' THEN graph_id
       ELSE created_at END END DESC,
  CASE WHEN NOT %(descending)s::boolean THEN CASE %(sort_by)s::text WHEN 'assistant_id' THEN assistant_id
       WHEN 'updated_at' THEN updated_at WHEN 'name' THEN name WHEN 'graph_id' THEN graph_id
       ELSE created_at END END ASC,
  rowseq DESC
LIMIT %(limit)s::bigint OFFSET %(offset)s::bigint

-- name: count_assistants
SELECT count(*) FROM assistants
WHERE (%(graph_id)s::text IS NULL OR graph_id = %(graph_id)s::text)
  AND (%(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s::text)) > 0)
  AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)

-- name: insert_thread
INSERT INTO threads
    (thread_id, created_at, updated_at, state_updated_at, metadata, status, config, state_values, error, interrupts)
VALUES (%(thread_id)s::text, %(created_at)s::text, %(updated_at)s::text, %(state_updated_at)s::text,
        %(metadata)s::jsonb, %(status)s::text, %(config)s::jsonb, %(values)s::jsonb,
        %(error)s::jsonb, %(interrupts)s::jsonb)
ON CONFLICT (thread_id) DO NOTHING

-- name: get_thread
SELECT * FROM threads WHERE thread_id = %(thread_id)s::text

-- name: thread_metadata
SELECT metadata FROM threads WHERE thread_id = %(thread_id)s::text

-- name: update_thread
-- (see relaygraph_update_thread in migrate_3)
SELECT relaygraph_update_thread(
    %(thread_id)s::text, %(metadata)s::jsonb, %(status)s::text, %(config)s::jsonb,
    %(set_values)s::boolean, %(values)s::jsonb, %(set_error)s::boolean, %(error)s::jsonb,
    %(interrupts)s::jsonb, %(updated_at)s::text, %(state_updated_at)s::text)

-- name: thread_busy_if_inflight
SELECT relaygraph_thread_busy_if_inflight(%(thread_id)s::text)

-- name: delete_thread
DELETE FROM threads WHERE thread_id = %(thread_id)s::text

-- name: delete_thread_events
DELETE FROM run_events
WHERE run_id IN (SELECT run_id FROM runs WHERE thread_id = %(thread_id)s::text)

-- name: delete_thread_runs
DELETE FROM runs WHERE thread_id = %(thread_id)s::text

-- name: search_threads
SELECT *, count(*) OVER () AS total FROM threads
WHERE (%(ids)s::text[] IS NULL OR thread_id = ANY(%(ids)s::text[]))
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)
  AND (%(values)s::jsonb IS NULL OR state_values @> %(values)s::jsonb)
ORDER BY
  CASE WHEN %(descending)s::boolean THEN CASE %(sort_by)s::text WHEN 'thread_id' THEN thread_id
       WHEN 'status' THEN status WHEN 'updated_at' THEN updated_at
       WHEN 'state_updated_at' THEN state_updated_at ELSE created_at END END DESC,
  CASE WHEN NOT %(descending)s::boolean THEN CASE %(sort_by)s::text WHEN 'thread_id' THEN thread_id
       WHEN 'status' THEN status WHEN 'updated_at' THEN updated_at
       WHEN 'state_updated_at' THEN state_updated_at ELSE created_at END END ASC,
  rowseq DESC
LIMIT %(limit)s::bigint OFFSET %(offset)s::bigint

-- name: count_threads
SELECT count(*) FROM threads
WHERE (%(ids)s::text[] IS NULL OR thread_id = ANY(%(ids)s::text[]))
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)
  AND (%(values)s::jsonb IS NULL OR state_values @> %(values)s::jsonb)

-- name: insert_run
-- A new pending run and its thread's status, in one statement: atomic without a transaction.
WITH thread AS (
    UPDATE threads SET status = %(thread_status)s::text, updated_at = %(created_at)s::text
    WHERE thread_id = %(thread_id)s::text
)
INSERT INTO runs
    (run_id, thread_id, assistant_id, metadata, status, kwargs, multitask_strategy, created_at, updated_at, run_at, ended_at)
VALUES (%(run_id)s::text, %(thread_id)s::text, %(assistant_id)s::text, %(metadata)s::jsonb, 'pending',
        %(kwargs)s::jsonb, %(multitask_strategy)s::text, %(created_at)s::text, %(updated_at)s::text,
        %(run_at)s::float8, NULL)

-- name: get_run
SELECT * FROM runs WHERE run_id = %(run_id)s::text

-- name: run_status
SELECT status FROM runs WHERE run_id = %(run_id)s::text

-- name: list_runs
SELECT * FROM runs
WHERE thread_id = %(thread_id)s::text AND (%(status)s::text IS NULL OR status = %(status)s::text)
ORDER BY seq DESC LIMIT %(limit)s::bigint OFFSET %(offset)s::bigint

-- name: inflight_runs
SELECT * FROM runs WHERE thread_id = %(thread_id)s::text AND status IN ('pending', 'running')
ORDER BY seq

-- name: claim_run
-- Lock the oldest runnable pending run (skipping rows another claimer holds) and start it.
-- A run whose thread has an older pending run is never a candidate, so two claimers only
-- meet on one thread through stale snapshots; the unique index on running runs then turns
-- the loser's update into a unique violation, which claim_run treats as "nothing claimed".
WITH candidate AS (
    SELECT r.seq FROM runs r
    WHERE r.status = 'pending' AND r.run_at <= %(now)s::float8
      AND NOT EXISTS (
        SELECT 1 FROM runs o WHERE o.thread_id = r.thread_id AND o.status IN ('pending', 'running')
          AND (o.status = 'running' OR o.seq < r.seq))
    ORDER BY r.seq
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE runs SET status = 'running', updated_at = %(updated_at)s::text,
    worker_id = %(worker_id)s::text, lease_until = %(lease_until)s::float8,
    attempt = attempt + 1, started_at = coalesce(started_at, %(updated_at)s::text)
FROM candidate
WHERE runs.seq = candidate.seq AND runs.status = 'pending'
RETURNING runs.*

-- name: renew_leases
UPDATE runs SET lease_until = %(until)s::float8
WHERE worker_id = %(worker_id)s::text AND status = 'running'
RETURNING run_id, cancel_action

-- name: request_cancel_running
UPDATE runs SET cancel_action = coalesce(cancel_action, %(action)s::text),
    updated_at = %(updated_at)s::text
WHERE run_id = %(run_id)s::text AND status = 'running'

-- name: cancel_pending
UPDATE runs SET status = 'interrupted', cancel_action = %(action)s::text,
    ended_at = %(ended_at)s::float8, updated_at = %(updated_at)s::text
WHERE run_id = %(run_id)s::text AND status = 'pending'

-- name: delete_pending
DELETE FROM runs WHERE run_id = %(run_id)s::text AND status = 'pending'

-- name: release_run
UPDATE runs SET status = 'pending', worker_id = NULL, lease_until = NULL,
    updated_at = %(updated_at)s::text, handoffs = handoffs + 1
WHERE run_id = %(run_id)s::text AND worker_id = %(worker_id)s::text AND status = 'running'

-- name: expired_runs
-- Locked, skipping rows another reaper holds, so no run is reaped twice.
SELECT * FROM runs WHERE status = 'running' AND lease_until < %(now)s::float8
ORDER BY seq
FOR UPDATE SKIP LOCKED

-- name: requeue_runs
UPDATE runs SET status = 'pending', worker_id = NULL, lease_until = NULL,
    updated_at = %(updated_at)s::text
WHERE run_id = ANY(%(run_ids)s::text[]) AND status = 'running' AND lease_until < %(now)s::float8

-- name: fail_expired_runs
UPDATE runs SET status = 'error', worker_id = NULL, lease_until = NULL, ended_at = %(now)s::float8,
    updated_at = %(updated_at)s::text
WHERE run_id = ANY(%(run_ids)s::text[]) AND status = 'running' AND lease_until < %(now)s::float8

-- name: next_run_at
-- The earliest start of a pending run that could be claimed once due: runs queued behind
-- another run of their thread are woken by that run finishing, not by the clock.
SELECT min(r.run_at) FROM runs r
WHERE r.status = 'pending'
  AND NOT EXISTS (
    SELECT 1 FROM runs o WHERE o.thread_id = r.thread_id
      AND (o.status = 'running' OR (o.status = 'pending' AND o.seq < r.seq)))

-- name: runs_with_status
SELECT * FROM runs WHERE status = ANY(%(statuses)s::text[]) AND status IN ('pending', 'running')
  AND (%(thread_id)s::text IS NULL OR thread_id = %(thread_id)s::text)
ORDER BY seq

-- name: finish_run
-- (see migrate_3)
SELECT relaygraph_finish_run(
    %(run_id)s::text, %(status)s::text, %(ended_at)s::float8, %(updated_at)s::text,
    %(kwargs)s::jsonb, %(owner)s::text, %(thread_id)s::text, %(metadata)s::jsonb,
    %(thread_status)s::text, %(config)s::jsonb, %(set_values)s::boolean, %(values)s::jsonb,
    %(set_error)s::boolean, %(error)s::jsonb, %(interrupts)s::jsonb,
    %(thread_updated_at)s::text, %(state_updated_at)s::text) AS finished

-- name: delete_run
DELETE FROM runs WHERE run_id = %(run_id)s::text

-- name: delete_run_events
DELETE FROM run_events WHERE run_id = %(run_id)s::text

-- name: insert_events
-- Many rows in one statement; a row already logged (same run_id, seq) is kept. With an owner,
-- only rows of runs it still holds are logged (row locks on those runs keep a reaper from
-- handing them over meanwhile); returns the run ids whose rows were logged.
WITH held AS (
    SELECT run_id FROM runs
    WHERE run_id = ANY(%(run_ids)s::text[])
      AND (%(owner)s::text IS NULL OR (status = 'running' AND worker_id = %(owner)s::text))
    FOR SHARE
), logged AS (
    INSERT INTO run_events (run_id, seq, event, data)
    SELECT e.run_id, e.seq, e.event, e.data
    FROM unnest(%(run_ids)s::text[], %(seqs)s::bigint[], %(events)s::text[], %(data)s::bytea[])
        AS e(run_id, seq, event, data)
    WHERE %(owner)s::text IS NULL OR e.run_id IN (SELECT run_id FROM held)
    ON CONFLICT (run_id, seq) DO NOTHING
)
SELECT run_id FROM held

-- name: last_event_seq
SELECT coalesce(max(seq), 0) FROM run_events WHERE run_id = %(run_id)s::text

-- name: read_events
SELECT seq, event, data FROM run_events
WHERE run_id = %(run_id)s::text AND seq > %(after)s::bigint
ORDER BY seq LIMIT %(limit)s::bigint

-- name: sweep_events
DELETE FROM run_events WHERE run_id IN (
    SELECT run_id FROM runs WHERE ended_at IS NOT NULL AND ended_at < %(ended_before)s::float8)
