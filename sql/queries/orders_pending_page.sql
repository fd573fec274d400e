-- A page of PENDING orders created before $1, after the cursor ($2, $3), oldest first: what
-- settlement's reconciliation compares with the orders it holds (the orders_pending index).
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, price, applied_exchange_rate, total_krw, fee_krw, reason, filled_at
FROM orders
WHERE status = 'PENDING' AND created_at < $1 AND (created_at, id) > ($2, $3)
ORDER BY created_at, id
LIMIT $4
