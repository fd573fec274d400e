-- Open orders of season $1's participants not yet started (only user $2's if not null).
SELECT o.user_id, o.id
FROM orders AS o
JOIN season_participants AS p ON p.user_id = o.user_id
WHERE p.season_id = $1 AND p.started_at IS NULL AND ($2::uuid IS NULL OR p.user_id = $2)
  AND o.status IN ('PENDING', 'PARTIALLY_FILLED')
