-- The running season user $1 plays in, its participant row locked: resets allowed and used.
SELECT s.id AS season_id, s.name, s.resets_allowed, s.initial_cash_krw, p.resets_used
FROM season_participants AS p JOIN seasons AS s ON s.id = p.season_id
WHERE p.user_id = $1 AND s.status = 'running' AND p.started_at IS NOT NULL
FOR UPDATE OF p
