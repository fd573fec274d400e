-- Everyone's equity and return index at $4 ($5: a day's start, 00:00 KST); a snapshot already
-- taken at that instant (by a season's start) stands.
INSERT INTO equity_snapshots (user_id, taken_at, equity_krw, growth, boundary)
SELECT v.user_id, $4, v.equity_krw, v.growth, $5
FROM unnest($1::uuid[], $2::numeric[], $3::numeric[]) AS v(user_id, equity_krw, growth)
ON CONFLICT DO NOTHING
