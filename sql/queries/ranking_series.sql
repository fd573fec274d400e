-- The snapshots after $1 up to $2 (only those at a day's start, 00:00 KST, unless $3), oldest first.
SELECT user_id, taken_at, equity_krw, growth FROM equity_snapshots
WHERE taken_at > $1 AND taken_at <= $2 AND (boundary OR $3)
ORDER BY taken_at, user_id
