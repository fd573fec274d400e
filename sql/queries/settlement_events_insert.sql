-- The order's history: seq continues the order's own (n is 1, 2, ... within the batch).
INSERT INTO order_events (order_id, seq, kind, at, reason, detail)
SELECT v.order_id, coalesce(m.top, 0) + v.n, v.kind, v.at, v.reason, v.detail::jsonb
FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
     AS v(order_id, n, kind, at, reason, detail)
LEFT JOIN LATERAL (SELECT max(e.seq) AS top FROM order_events AS e WHERE e.order_id = v.order_id)
     AS m ON true
