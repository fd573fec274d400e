-- A page of PENDING orders created before $1, after the cursor ($2, $3), oldest first: what
-- settlement's reconciliation compares with the orders it holds (the orders_undecided index):
-- open and never decided.
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, applied_exchange_rate, total_krw, fee_krw, reason, filled_at, time_in_force,
       amount_krw, stop_price, trail_percent, trail_amount, trail_mark, filled_quantity,
       average_price, reserved_krw, fees::text AS fees, triggered_at, expires_at, resting_since
FROM orders
WHERE status IN ('PENDING', 'PARTIALLY_FILLED') AND resting_since IS NULL AND created_at < $1 AND (created_at, id) > ($2, $3)
ORDER BY created_at, id
LIMIT $4
