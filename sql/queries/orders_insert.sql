-- Record new PENDING orders in one statement (group commit). A retry with a known id or
-- (user, client_order_id) inserts nothing; the caller then reads the existing order.
INSERT INTO orders (id, user_id, client_order_id, ticker_id, side, type, status, quantity,
                    limit_price, currency, created_at)
SELECT v.id, v.user_id, v.client_order_id, v.ticker_id, v.side, v.type, 'PENDING', v.quantity,
       v.limit_price, v.currency, v.created_at
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::numeric[], $8::numeric[], $9::text[], $10::timestamptz[])
     AS v(id, user_id, client_order_id, ticker_id, side, type, quantity, limit_price, currency,
          created_at)
ON CONFLICT DO NOTHING
RETURNING id
