-- End running season $1 early, at $2: the season clock freezes it at its next look.
UPDATE seasons SET ends_at = greatest($2, started_at + interval '1 microsecond')
WHERE id = $1 AND status = 'running'
RETURNING id
