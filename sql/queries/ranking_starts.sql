-- The index of each account ($1) at its instant ($2, per account): its latest snapshot at or
-- before then (NULL: none yet).
SELECT a.user_id, s.growth
FROM unnest($1::uuid[], $2::timestamptz[]) AS a(user_id, at)
LEFT JOIN LATERAL (
    SELECT growth FROM equity_snapshots
    WHERE user_id = a.user_id AND taken_at <= a.at
    ORDER BY taken_at DESC LIMIT 1
) AS s ON true
