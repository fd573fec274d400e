-- A user's orders, newest first; $2 is a status or NULL for all; $3 a ticker or NULL.
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, price, applied_exchange_rate, total_krw, fee_krw, reason, filled_at
FROM orders
WHERE user_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR ticker_id = $3)
ORDER BY created_at DESC, id DESC
LIMIT $4
