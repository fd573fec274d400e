-- A user's orders, newest first; $2 is a status, 'open' (PENDING or
-- PARTIALLY_FILLED) or NULL for all; $3 a ticker or NULL.
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, applied_exchange_rate, total_krw, fee_krw, reason, filled_at, time_in_force,
       amount_krw, stop_price, trail_percent, trail_amount, trail_mark, filled_quantity,
       average_price, reserved_krw, fees::text AS fees, triggered_at, expires_at, resting_since
FROM orders
WHERE user_id = $1 AND ($2::text IS NULL OR status = $2
       OR ($2 = 'open' AND status IN ('PENDING', 'PARTIALLY_FILLED'))) AND ($3::text IS NULL OR ticker_id = $3)
ORDER BY created_at DESC, id DESC
LIMIT $4
