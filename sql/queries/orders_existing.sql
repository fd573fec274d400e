-- The orders that a retried insert collided with: by id, or by (user, client_order_id).
SELECT o.id, o.user_id, o.client_order_id, o.ticker_id, o.side, o.type, o.status, o.quantity,
       o.limit_price, o.currency, o.created_at, o.applied_exchange_rate, o.total_krw, o.fee_krw,
       o.reason, o.filled_at, o.time_in_force, o.amount_krw, o.stop_price, o.trail_percent,
       o.trail_amount, o.trail_mark, o.filled_quantity, o.average_price, o.reserved_krw,
       o.fees::text AS fees, o.triggered_at, o.expires_at, o.resting_since
FROM orders AS o
JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS v(id, user_id, client_order_id)
  ON o.id = v.id OR (o.user_id = v.user_id AND o.client_order_id = v.client_order_id)
