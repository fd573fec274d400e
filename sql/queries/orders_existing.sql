-- The orders that a retried insert collided with: by id, or by (user, client_order_id).
SELECT id, user_id, client_order_id, ticker_id, side, type, status, quantity, limit_price, currency,
       created_at, price, applied_exchange_rate, total_krw, fee_krw, reason, filled_at
FROM orders AS o
JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS v(id, user_id, client_order_id)
  ON o.id = v.id OR (o.user_id = v.user_id AND o.client_order_id = v.client_order_id)
