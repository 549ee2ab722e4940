-- Named queries for the store on SQLite (StoreSqlite). Each starts with a "-- name: <name>" line.
-- namespace is the labels joined by "."; value is JSON text; expires_at is epoch seconds.
-- rg_store_match(value, plain, conditions) is the search filter (a Python function).

-- name: store_schema
CREATE TABLE IF NOT EXISTS store_items (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    ttl_minutes REAL,
    expires_at REAL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS store_items_by_update ON store_items (updated_at);
CREATE INDEX IF NOT EXISTS store_items_expiring ON store_items (expires_at)
    WHERE expires_at IS NOT NULL;

-- name: store_put
-- An expired row still waiting for the sweep is replaced as a new item.
INSERT INTO store_items (namespace, key, value, created_at, updated_at, ttl_minutes, expires_at)
VALUES (:namespace, :key, :value, :stamp, :stamp, :ttl_minutes, :expires_at)
ON CONFLICT (namespace, key) DO UPDATE SET
    value = excluded.value,
    updated_at = excluded.updated_at,
    ttl_minutes = excluded.ttl_minutes,
    expires_at = excluded.expires_at,
    created_at = CASE WHEN store_items.expires_at <= :now THEN excluded.created_at
                      ELSE store_items.created_at END

-- name: store_refresh
UPDATE store_items SET expires_at = :now + ttl_minutes * 60
WHERE namespace = :namespace AND key = :key AND ttl_minutes IS NOT NULL AND expires_at > :now

-- name: store_get
SELECT namespace, key, value, created_at, updated_at FROM store_items
WHERE namespace = :namespace AND key = :key AND (expires_at IS NULL OR expires_at > :now)

-- name: store_delete
DELETE FROM store_items WHERE namespace = :namespace AND key = :key

-- name: store_search
SELECT namespace, key, value, created_at, updated_at, ttl_minutes FROM store_items
WHERE (:prefix IS NULL OR namespace = :prefix OR (namespace >= :lo AND namespace < :hi))
  AND (expires_at IS NULL OR expires_at > :now)
  AND (:plain IS NULL AND :conditions IS NULL OR rg_store_match(value, :plain, :conditions))
ORDER BY updated_at DESC, namespace, key
LIMIT :limit OFFSET :offset

-- name: store_namespaces
SELECT DISTINCT namespace FROM store_items
WHERE (:prefix IS NULL OR namespace = :prefix OR (namespace >= :lo AND namespace < :hi))
  AND (expires_at IS NULL OR expires_at > :now)

-- name: store_sweep
DELETE FROM store_items WHERE expires_at <= :now
