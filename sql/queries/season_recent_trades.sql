-- Player $1's latest filled orders filled at or before $2, newest first, at most $3.
SELECT id, user_id, ticker_id, side, type, quantity, price, currency, total_krw, filled_at
FROM orders
WHERE user_id = $1 AND status = 'FILLED' AND filled_at <= $2
ORDER BY filled_at DESC LIMIT $3
