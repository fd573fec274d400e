-- One order by id, whoever owns it: for the intake, which knows only the id of an order it
-- must mark FAILED (from a message it could not decode).
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, applied_exchange_rate, total_krw, fee_krw, reason, filled_at, time_in_force,
       amount_krw, stop_price, trail_percent, trail_amount, trail_mark, filled_quantity,
       average_price, reserved_krw, fees::text AS fees, triggered_at, expires_at, resting_since
FROM orders
WHERE id = $1
