-- One order by id, whoever owns it: for the intake, which knows only the id of an order it
-- must mark FAILED (from a message it could not decode).
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, price, applied_exchange_rate, total_krw, fee_krw, reason, filled_at
FROM orders
WHERE id = $1
