-- Season $1 starts at $2 (if it has not yet): true if this call started it.
UPDATE seasons SET status = 'running', started_at = $2
WHERE id = $1 AND status = 'scheduled'
RETURNING true
