-- Forget orders accepted before $1 (seconds since the epoch).
DELETE FROM edge_orders WHERE stored_at < $1
