-- Named queries for the store on PostgreSQL (StorePostgres). Each starts with a "-- name: <name>"
-- line. namespace is the labels joined by "." in byte order (COLLATE "C"), so a prefix is a
-- range of the primary key; value is JSONB (filters use @>, with a GIN index); expires_at is
-- epoch seconds.

-- name: store_setup_lock
-- The tables are created one process at a time (per database and schema).
SELECT pg_advisory_xact_lock(hashtext('relaygraph.server.store:' || coalesce(current_schema(), '')))

-- name: store_schema
CREATE TABLE IF NOT EXISTS store_items (
    namespace TEXT COLLATE "C" NOT NULL,
    key TEXT NOT NULL,
    value JSONB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    ttl_minutes DOUBLE PRECISION,
    expires_at DOUBLE PRECISION,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS store_items_by_update ON store_items (updated_at);
CREATE INDEX IF NOT EXISTS store_items_expiring ON store_items (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS store_items_value ON store_items USING gin (value jsonb_path_ops)

-- name: store_put
-- An expired row still waiting for the sweep is replaced as a new item.
INSERT INTO store_items (namespace, key, value, created_at, updated_at, ttl_minutes, expires_at)
VALUES (%(namespace)s::text, %(key)s::text, %(value)s::jsonb, %(stamp)s::text, %(stamp)s::text,
        %(ttl_minutes)s::double precision, %(expires_at)s::double precision)
ON CONFLICT (namespace, key) DO UPDATE SET
    value = excluded.value,
    updated_at = excluded.updated_at,
    ttl_minutes = excluded.ttl_minutes,
    expires_at = excluded.expires_at,
    created_at = CASE WHEN store_items.expires_at <= %(now)s::double precision
                      THEN excluded.created_at ELSE store_items.created_at END

-- name: store_get
-- With refresh, a live item's TTL restarts in the same statement.
WITH refreshed AS (
    UPDATE store_items SET expires_at = %(now)s::double precision + ttl_minutes * 60
    WHERE %(refresh)s::boolean AND namespace = %(namespace)s::text AND key = %(key)s::text
      AND ttl_minutes IS NOT NULL AND expires_at > %(now)s::double precision
)
SELECT namespace, key, value, created_at, updated_at FROM store_items
WHERE namespace = %(namespace)s::text AND key = %(key)s::text
  AND (expires_at IS NULL OR expires_at > %(now)s::double precision)

-- name: store_delete
DELETE FROM store_items WHERE namespace = %(namespace)s::text AND key = %(key)s::text

-- name: store_search
-- conditions: a JSON array of [field, operator, operand]; each must hold.
SELECT namespace, key, value, created_at, updated_at, ttl_minutes FROM store_items
WHERE (%(prefix)s::text IS NULL OR namespace = %(prefix)s::text
       OR (namespace >= %(lo)s::text AND namespace < %(hi)s::text))
  AND (expires_at IS NULL OR expires_at > %(now)s::double precision)
  AND (%(plain)s::jsonb IS NULL OR value @> %(plain)s::jsonb)
  AND (%(conditions)s::jsonb IS NULL OR NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements(%(conditions)s::jsonb) AS c (cond)
    WHERE NOT coalesce(CASE cond ->> 1
        WHEN '$eq' THEN value -> (cond ->> 0) = cond -> 2
        WHEN '$ne' THEN value -> (cond ->> 0) IS DISTINCT FROM cond -> 2
        ELSE jsonb_typeof(cond -> 2) IN ('number', 'string')
             AND jsonb_typeof(value -> (cond ->> 0)) = jsonb_typeof(cond -> 2)
             AND CASE cond ->> 1
                 WHEN '$gt' THEN value -> (cond ->> 0) > cond -> 2
                 WHEN '$gte' THEN value -> (cond ->> 0) >= cond -> 2
                 WHEN '$lt' THEN value -> (cond ->> 0) < cond -> 2
                 WHEN '$lte' THEN value -> (cond ->> 0) <= cond -> 2
             END
    END, false)))
ORDER BY updated_at DESC, namespace, key
LIMIT %(limit)s::bigint OFFSET %(offset)s::bigint

-- name: store_refresh_many
UPDATE store_items AS s SET expires_at = %(now)s::double precision + s.ttl_minutes * 60
FROM unnest(%(namespaces)s::text[], %(keys)s::text[]) AS t (namespace, key)
WHERE s.namespace = t.namespace AND s.key = t.key
  AND s.ttl_minutes IS NOT NULL AND s.expires_at > %(now)s::double precision

-- name: store_namespaces
SELECT DISTINCT namespace FROM store_items
WHERE (%(prefix)s::text IS NULL OR namespace = %(prefix)s::text
       OR (namespace >= %(lo)s::text AND namespace < %(hi)s::text))
  AND (expires_at IS NULL OR expires_at > %(now)s::double precision)

-- name: store_sweep
DELETE FROM store_items WHERE expires_at <= %(now)s::double precision
