-- Open orders of running seasons' participants placed before their accounts were set: the
-- start cancels them (season_started), again after a crash or restart if it had not finished.
SELECT o.user_id, o.id
FROM orders AS o
JOIN season_participants AS p ON p.user_id = o.user_id AND o.created_at < p.started_at
JOIN seasons AS s ON s.id = p.season_id AND s.status = 'running'
WHERE o.status IN ('PENDING', 'PARTIALLY_FILLED')
