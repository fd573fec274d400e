-- A row the daemon rewrites (at most once a second, when asked for readiness) to learn whether
-- the database takes writes: `SELECT 1` answers on a read-only standby or a full disk too.
CREATE TABLE write_probe (
    name       text PRIMARY KEY,
    written_at timestamptz NOT NULL
);
