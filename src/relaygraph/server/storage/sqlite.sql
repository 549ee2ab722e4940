-- Named queries for SqliteStorage. Each starts with a "-- name: <name>" line.
-- JSON columns are TEXT; rg_contains(doc, subset) is JSON containment (a Python function).

-- name: schema
CREATE TABLE IF NOT EXISTS assistants (
    assistant_id TEXT PRIMARY KEY,
    graph_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    config TEXT NOT NULL,
    context TEXT NOT NULL,
    metadata TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assistant_versions (
    assistant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    graph_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    config TEXT NOT NULL,
    context TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (assistant_id, version)
);
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state_updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    state_values TEXT,
    error TEXT,
    interrupts TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    kwargs TEXT NOT NULL,
    multitask_strategy TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    run_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS runs_by_thread ON runs (thread_id, seq);
CREATE INDEX IF NOT EXISTS runs_pending ON runs (status, seq);
-- one running run per thread, enforced by the database
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_running ON runs (thread_id) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- name: migrate_2
-- leases, attempts and stored cancel requests (scale-out run queue)
ALTER TABLE runs ADD COLUMN worker_id TEXT;
ALTER TABLE runs ADD COLUMN lease_until REAL;
ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cancel_action TEXT;
ALTER TABLE runs ADD COLUMN started_at TEXT;
CREATE INDEX IF NOT EXISTS runs_by_worker ON runs (worker_id) WHERE status = 'running';

-- name: migrate_3
-- Indexes for the run queue that hold only live runs: a thread's pending and running runs
-- without scanning its finished ones (the multitask check and the claim's "is this thread
-- free?" ran in time linear in the thread's history), and pending runs in queue order
-- (finished runs no longer enter an index on status that every status change rewrites).
CREATE INDEX IF NOT EXISTS runs_inflight ON runs (thread_id, seq) WHERE status IN ('pending', 'running');
DROP INDEX IF EXISTS runs_pending;
CREATE INDEX runs_pending ON runs (seq) WHERE status = 'pending';
-- running runs are few (one process's workers): runs_one_running finds them all
DROP INDEX IF EXISTS runs_by_worker;
-- hand-backs (a graceful shutdown) are not failures: they do not spend max_attempts
ALTER TABLE runs ADD COLUMN handoffs INTEGER NOT NULL DEFAULT 0;

-- name: insert_assistant
INSERT OR IGNORE INTO assistants
    (assistant_id, graph_id, name, description, config, context, metadata, version, created_at, updated_at)
VALUES (:assistant_id, :graph_id, :name, :description, :config, :context, :metadata, :version, :created_at, :updated_at)

-- name: insert_assistant_version
INSERT OR REPLACE INTO assistant_versions
    (assistant_id, version, graph_id, name, description, config, context, metadata, created_at)
VALUES (:assistant_id, :version, :graph_id, :name, :description, :config, :context, :metadata, :created_at)

-- name: set_assistant
UPDATE assistants SET graph_id = :graph_id, name = :name, description = :description, config = :config,
    context = :context, metadata = :metadata, version = :version, updated_at = :updated_at
WHERE assistant_id = :assistant_id

-- name: get_assistant
SELECT * FROM assistants WHERE assistant_id = ?

-- name: get_assistant_version
SELECT * FROM assistant_versions WHERE assistant_id = ? AND version = ?

-- name: list_assistant_versions
SELECT * FROM assistant_versions
WHERE assistant_id = :assistant_id AND (:metadata IS NULL OR rg_contains(metadata, :metadata))
ORDER BY version DESC LIMIT :limit OFFSET :offset

-- name: delete_assistant
DELETE FROM assistants WHERE assistant_id = ?

-- name: delete_assistant_versions
DELETE FROM assistant_versions WHERE assistant_id = ?

-- name: search_assistants
SELECT *, count(*) OVER () AS total FROM assistants
WHERE (:graph_id IS NULL OR graph_id = :graph_id)
  AND (:name IS NULL OR instr(lower(name), lower(:name)) > 0)
  AND (:metadata IS NULL OR rg_contains(metadata, :metadata))
ORDER BY
  CASE WHEN :descending THEN CASE :sort_by WHEN 'assistant_id' THEN assistant_id WHEN 'updated_at' THEN updated_at
       WHEN 'name' THEN name WHEN 'graph_id' THEN graph_id ELSE created_at END END DESC,
  CASE WHEN NOT :descending THEN CASE :sort_by WHEN 'assistant_id' THEN assistant_id WHEN 'updated_at' THEN updated_at
       WHEN 'name' THEN name WHEN 'graph_id' THEN graph_id ELSE created_at END END ASC,
  rowid DESC
LIMIT :limit OFFSET :offset

-- name: count_assistants
SELECT count(*) FROM assistants
WHERE (:graph_id IS NULL OR graph_id = :graph_id)
  AND (:name IS NULL OR instr(lower(name), lower(:name)) > 0)
  AND (:metadata IS NULL OR rg_contains(metadata, :metadata))

-- name: insert_thread
INSERT OR IGNORE INTO threads
    (thread_id, created_at, updated_at, state_updated_at, metadata, status, config, state_values, error, interrupts)
VALUES (:thread_id, :created_at, :updated_at, :state_updated_at, :metadata, :status, :config, :values, :error, :interrupts)

-- name: get_thread
SELECT * FROM threads WHERE thread_id = ?

-- name: thread_metadata
SELECT metadata FROM threads WHERE thread_id = ?

-- name: update_thread
UPDATE threads SET
    metadata = coalesce(:metadata, metadata),
    status = coalesce(:status, status),
    config = coalesce(:config, config),
    state_values = CASE WHEN :set_values THEN :values ELSE state_values END,
    error = CASE WHEN :set_error THEN :error ELSE error END,
    interrupts = coalesce(:interrupts, interrupts),
    updated_at = coalesce(:updated_at, updated_at),
    state_updated_at = coalesce(:state_updated_at, state_updated_at)
WHERE thread_id = :thread_id

-- name: delete_thread
DELETE FROM threads WHERE thread_id = ?

-- name: delete_thread_events
DELETE FROM run_events WHERE run_id IN (SELECT run_id FROM runs WHERE thread_id = ?)

-- name: delete_thread_runs
DELETE FROM runs WHERE thread_id = ?

-- name: search_threads
SELECT *, count(*) OVER () AS total FROM threads
WHERE (:ids IS NULL OR thread_id IN (SELECT value FROM json_each(:ids)))
  AND (:status IS NULL OR status = :status)
  AND (:metadata IS NULL OR rg_contains(metadata, :metadata))
  AND (:values IS NULL OR rg_contains(state_values, :values))
ORDER BY
  CASE WHEN :descending THEN CASE :sort_by WHEN 'thread_id' THEN thread_id WHEN 'status' THEN status
       WHEN 'updated_at' THEN updated_at WHEN 'state_updated_at' THEN state_updated_at ELSE created_at END END DESC,
  CASE WHEN NOT :descending THEN CASE :sort_by WHEN 'thread_id' THEN thread_id WHEN 'status' THEN status
       WHEN 'updated_at' THEN updated_at WHEN 'state_updated_at' THEN state_updated_at ELSE created_at END END ASC,
  rowid DESC
LIMIT :limit OFFSET :offset

-- name: count_threads
SELECT count(*) FROM threads
WHERE (:ids IS NULL OR thread_id IN (SELECT value FROM json_each(:ids)))
  AND (:status IS NULL OR status = :status)
  AND (:metadata IS NULL OR rg_contains(metadata, :metadata))
  AND (:values IS NULL OR rg_contains(state_values, :values))

-- name: insert_run
INSERT INTO runs
    (run_id, thread_id, assistant_id, metadata, status, kwargs, multitask_strategy, created_at, updated_at, run_at, ended_at)
VALUES (:run_id, :thread_id, :assistant_id, :metadata, 'pending', :kwargs, :multitask_strategy, :created_at, :updated_at, :run_at, NULL)

-- name: set_thread_status
UPDATE threads SET status = :status, updated_at = :updated_at WHERE thread_id = :thread_id

-- name: get_run
SELECT * FROM runs WHERE run_id = ?

-- name: run_status
SELECT status FROM runs WHERE run_id = ?

-- name: list_runs
SELECT * FROM runs WHERE thread_id = :thread_id AND (:status IS NULL OR status = :status)
ORDER BY seq DESC LIMIT :limit OFFSET :offset

-- name: inflight_runs
SELECT * FROM runs WHERE thread_id = ? AND status IN ('pending', 'running') ORDER BY seq

-- name: claim_candidate
-- The oldest runnable pending run whose thread has nothing running and no older pending run
-- (a read: when there is none, as after most runs, no write transaction is begun).
SELECT r.seq FROM runs r
WHERE r.status = 'pending' AND r.run_at <= :now
  AND NOT EXISTS (
    SELECT 1 FROM runs o WHERE o.thread_id = r.thread_id AND o.status IN ('pending', 'running')
      AND (o.status = 'running' OR o.seq < r.seq))
ORDER BY r.seq LIMIT 1

-- name: mark_running
UPDATE runs SET status = 'running', updated_at = :updated_at, worker_id = :worker_id,
    lease_until = :lease_until, attempt = attempt + 1, started_at = coalesce(started_at, :updated_at)
WHERE seq = :seq AND status = 'pending'
RETURNING *

-- name: renew_leases
UPDATE runs INDEXED BY runs_one_running SET lease_until = :until
WHERE worker_id = :worker_id AND status = 'running'
RETURNING run_id, cancel_action

-- name: request_cancel_running
UPDATE runs SET cancel_action = coalesce(cancel_action, :action), updated_at = :updated_at
WHERE run_id = :run_id AND status = 'running'

-- name: cancel_pending
UPDATE runs SET status = 'interrupted', cancel_action = :action, ended_at = :ended_at,
    updated_at = :updated_at
WHERE run_id = :run_id AND status = 'pending'

-- name: delete_pending
DELETE FROM runs WHERE run_id = :run_id AND status = 'pending'

-- name: release_run
UPDATE runs SET status = 'pending', worker_id = NULL, lease_until = NULL, updated_at = :updated_at,
    handoffs = handoffs + 1
WHERE run_id = :run_id AND worker_id = :worker_id AND status = 'running'

-- name: expired_runs
SELECT * FROM runs INDEXED BY runs_one_running  -- running runs only, not the whole history
WHERE status = 'running' AND lease_until < :now ORDER BY seq

-- name: requeue_run
UPDATE runs SET status = 'pending', worker_id = NULL, lease_until = NULL, updated_at = :updated_at
WHERE run_id = :run_id AND status = 'running' AND lease_until < :now

-- name: fail_expired_run
UPDATE runs SET status = 'error', worker_id = NULL, lease_until = NULL, ended_at = :now,
    updated_at = :updated_at
WHERE run_id = :run_id AND status = 'running' AND lease_until < :now

-- name: next_run_at
-- The earliest start of a pending run that could be claimed once due: runs queued behind
-- another run of their thread are woken by that run finishing, not by the clock.
SELECT min(r.run_at) FROM runs r
WHERE r.status = 'pending'
  AND NOT EXISTS (
    SELECT 1 FROM runs o WHERE o.thread_id = r.thread_id AND o.status IN ('pending', 'running')
      AND (o.status = 'running' OR o.seq < r.seq))

-- name: runs_with_status
SELECT * FROM runs INDEXED BY runs_inflight  -- live runs only, not the whole history
WHERE status IN ('pending', 'running') AND status IN (SELECT value FROM json_each(:statuses))
  AND (:thread_id IS NULL OR thread_id = :thread_id)
ORDER BY seq

-- name: finish_run
UPDATE runs SET status = :status, ended_at = :ended_at, updated_at = :updated_at,
    kwargs = coalesce(:kwargs, kwargs), worker_id = NULL, lease_until = NULL
WHERE run_id = :run_id AND (:owner IS NULL OR (worker_id = :owner AND status = 'running'))

-- name: thread_busy_if_inflight
-- after a run ended: its thread stays busy while another of its runs is pending or running
UPDATE threads SET status = 'busy'
WHERE thread_id = :thread_id AND EXISTS (
    SELECT 1 FROM runs WHERE thread_id = :thread_id AND status IN ('pending', 'running'))

-- name: delete_run
DELETE FROM runs WHERE run_id = ?

-- name: delete_run_events
DELETE FROM run_events WHERE run_id = ?

-- name: insert_event
INSERT OR IGNORE INTO run_events (run_id, seq, event, data) VALUES (?, ?, ?, ?)

-- name: runs_held_by
SELECT run_id FROM runs INDEXED BY runs_one_running WHERE status = 'running' AND worker_id = ?

-- name: last_event_seq
SELECT coalesce(max(seq), 0) FROM run_events WHERE run_id = ?

-- name: read_events
SELECT seq, event, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?

-- name: sweep_events
DELETE FROM run_events WHERE run_id IN (
    SELECT run_id FROM runs WHERE ended_at IS NOT NULL AND ended_at < ?)
