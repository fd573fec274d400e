-- The open orders (PENDING, PARTIALLY_FILLED) of the users of partition $2 of $1, oldest first:
-- what a settlement partition picks up again on start (resting ones re-indexed, never-decided
-- ones decided as arrivals).
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, applied_exchange_rate, total_krw, fee_krw, reason, filled_at, time_in_force,
       amount_krw, stop_price, trail_percent, trail_amount, trail_mark, filled_quantity,
       average_price, reserved_krw, fees::text AS fees, triggered_at, expires_at, resting_since
FROM orders
WHERE status IN ('PENDING', 'PARTIALLY_FILLED') AND user_partition(user_id, $1) = $2
ORDER BY created_at, id
