INSERT INTO equity_snapshots (user_id, taken_at, equity_krw)
SELECT v.user_id, $3, v.equity_krw FROM unnest($1::uuid[], $2::numeric[]) AS v(user_id, equity_krw)
ON CONFLICT DO NOTHING
