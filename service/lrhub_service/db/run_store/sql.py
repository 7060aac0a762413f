"""The raw-driver statements on run rows and on advance keys, for both dialects.

The shared counter takes no step of an archived run (``archived_at IS NULL``).
"""

PG_FRESHNESS = "SELECT revision, state_version, horizon FROM runs WHERE id = $1"
PG_ADVANCE = (
    "UPDATE runs SET next_step = next_step + $2, "
    "horizon = GREATEST(horizon, next_step + $2 - 1) "
    "WHERE id = $1 AND archived_at IS NULL RETURNING next_step, revision, state_version"
)
PG_PROMISE = (
    "UPDATE runs SET horizon = GREATEST(horizon, $2) "
    "WHERE id = $1 AND revision = $3 AND state_version = $4 RETURNING horizon"
)
PG_ADVANCE_KEYED = (
    "WITH taken AS (UPDATE runs SET next_step = next_step + $2, "
    "horizon = GREATEST(horizon, next_step + $2 - 1) "
    "WHERE id = $1 AND archived_at IS NULL RETURNING next_step, revision, state_version), "
    "keyed AS (INSERT INTO idempotency_keys "
    "(scope, idem_key, fingerprint, status, body, created_at) "
    "SELECT k.scope, k.idem_key, k.fp, 200, "
    """'{"first_step":' || (taken.next_step - $2 + k.off) || ',"count":' || k.n || '}', now() """
    "FROM taken, unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) "
    "AS k(scope, idem_key, fp, off, n)) "
    "SELECT next_step, revision, state_version FROM taken"
)
PG_REWIND = (
    "WITH back AS (UPDATE runs SET next_step = $2::bigint, "
    "horizon = CASE WHEN horizon = $3::bigint - 1 THEN $4::bigint ELSE horizon END "
    "WHERE id = $1 AND next_step = $3::bigint RETURNING id) "
    "SELECT pg_notify('lrhub_runs', CAST(id AS text)) FROM back"
)
PG_FORGET_KEYS = (
    "DELETE FROM idempotency_keys WHERE (scope, idem_key) IN "
    "(SELECT * FROM unnest($1::text[], $2::text[]))"
)
SQLITE_REWIND = (
    "UPDATE runs SET next_step = ?2, horizon = CASE WHEN horizon = ?3 - 1 THEN ?4 "
    "ELSE horizon END WHERE id = ?1 AND next_step = ?3 RETURNING id"
)
SQLITE_FORGET_KEY = "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
PG_STORED = "SELECT fingerprint, body FROM idempotency_keys WHERE scope = $1 AND idem_key = $2"
SQLITE_STORED = "SELECT fingerprint, body FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
SQLITE_REMEMBER = (
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, body, created_at) "
    "VALUES (?, ?, ?, 200, ?, ?)"
)
SQLITE_FRESHNESS = "SELECT revision, state_version, horizon FROM runs WHERE id = ?"
SQLITE_ADVANCE = (
    "UPDATE runs SET next_step = next_step + ?2, horizon = max(horizon, next_step + ?2 - 1) "
    "WHERE id = ?1 AND archived_at IS NULL RETURNING next_step, revision, state_version"
)
SQLITE_PROMISE = (
    "UPDATE runs SET horizon = max(horizon, ?2) "
    "WHERE id = ?1 AND revision = ?3 AND state_version = ?4 RETURNING horizon"
)
