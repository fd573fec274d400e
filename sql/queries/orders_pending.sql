-- Every PENDING order, oldest first: what settlement picks up again on start.
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, price, applied_exchange_rate, total_krw, fee_krw, reason, filled_at
FROM orders
WHERE status = 'PENDING'
ORDER BY created_at, id
