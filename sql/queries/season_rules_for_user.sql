-- The rules of the running season user $1 plays in (no row: free play).
SELECT s.id AS season_id, s.markets, s.costs, s.max_position_pct
FROM season_participants AS p JOIN seasons AS s ON s.id = p.season_id
WHERE p.user_id = $1 AND s.status = 'running' AND p.started_at IS NOT NULL
