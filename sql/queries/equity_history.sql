SELECT taken_at AS time, equity_krw FROM equity_snapshots
WHERE user_id = $1 AND taken_at >= $2
ORDER BY taken_at
