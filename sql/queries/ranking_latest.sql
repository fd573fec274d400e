-- Each account's latest equity snapshot before $1 (none: no row), with the money moved in or
-- out after it (DEPOSIT or WITHDRAWAL in time order, a restart's WITHDRAWAL before its DEPOSIT): the last link of its index.
SELECT w.user_id, s.taken_at, s.equity_krw, s.growth,
       coalesce(f.flows, '[]'::jsonb) AS flows
FROM wallets AS w
LEFT JOIN LATERAL (
    SELECT taken_at, equity_krw, growth FROM equity_snapshots
    WHERE user_id = w.user_id AND taken_at < $1
    ORDER BY taken_at DESC LIMIT 1
) AS s ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_array(l.created_at, l.amount_krw::text, l.kind = 'WITHDRAWAL')
                     ORDER BY l.created_at, l.kind = 'DEPOSIT', l.id) AS flows
    FROM cash_ledger AS l
    WHERE l.user_id = w.user_id AND l.kind IN ('DEPOSIT', 'WITHDRAWAL')
      AND l.created_at > coalesce(s.taken_at, '-infinity')
) AS f ON true
