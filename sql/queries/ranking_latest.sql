-- Each account's latest equity snapshot before $1 (none: no row).
SELECT s.user_id, s.taken_at, s.equity_krw, s.growth
FROM wallets AS w
JOIN LATERAL (
    SELECT user_id, taken_at, equity_krw, growth FROM equity_snapshots
    WHERE user_id = w.user_id AND taken_at < $1
    ORDER BY taken_at DESC LIMIT 1
) AS s ON true
