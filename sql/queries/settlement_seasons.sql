-- The running season of each of users $1 (settlement's season rules); users in free play have no row.
SELECT p.user_id, s.id AS season_id, s.markets, s.costs, s.max_position_pct
FROM season_participants AS p JOIN seasons AS s ON s.id = p.season_id
WHERE p.user_id = ANY($1::uuid[]) AND s.status = 'running' AND p.started_at IS NOT NULL
