SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, price, applied_exchange_rate, total_krw, fee_krw, reason, filled_at
FROM orders
WHERE id = $1 AND user_id = $2
