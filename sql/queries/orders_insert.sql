-- Record new PENDING orders in one statement (group commit). A retry with a known id or
-- (user, client_order_id) inserts nothing; the caller then reads the existing order.
INSERT INTO orders (id, user_id, client_order_id, ticker_id, side, type, status, quantity,
                    limit_price, currency, created_at, time_in_force, amount_krw, stop_price,
                    trail_percent, trail_amount)
SELECT v.id, v.user_id, v.client_order_id, v.ticker_id, v.side, v.type, 'PENDING', v.quantity,
       v.limit_price, v.currency, v.created_at, v.time_in_force, v.amount_krw, v.stop_price,
       v.trail_percent, v.trail_amount
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::numeric[], $8::numeric[], $9::text[], $10::timestamptz[], $11::text[],
            $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[])
     AS v(id, user_id, client_order_id, ticker_id, side, type, quantity, limit_price, currency,
          created_at, time_in_force, amount_krw, stop_price, trail_percent, trail_amount)
ON CONFLICT DO NOTHING
RETURNING id
