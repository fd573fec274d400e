-- Filled orders of players who share their trades, filled at or before $1, newest first (at
-- most $2), with what decides who may see them (the visibility of their running season).
SELECT o.id, o.user_id, u.nickname, o.ticker_id, o.side, o.type, o.quantity, o.price,
       o.currency, o.total_krw, o.filled_at,
       (SELECT s.portfolio_visibility FROM season_participants AS p
        JOIN seasons AS s ON s.id = p.season_id
        WHERE p.user_id = o.user_id AND s.status = 'running' AND p.started_at IS NOT NULL)
           AS visibility
FROM orders AS o
JOIN user_settings AS us ON us.user_id = o.user_id AND us.share_trades
JOIN users AS u ON u.id = o.user_id
WHERE o.status = 'FILLED' AND o.filled_at <= $1
ORDER BY o.filled_at DESC LIMIT $2
