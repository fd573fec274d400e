-- One statement for a batch's append-only rows (one round trip): the fills' receipts, the
-- orders' history and the cash ledger's row per fill. seq continues each order's own (n is
-- 1, 2, ... within the batch). Empty arrays insert nothing.
WITH fills AS (
    INSERT INTO order_fills (order_id, seq, quantity, price, rate, total_krw, fee_krw, fees,
                             rule, levels, quote_price, quote_bid, quote_ask, quote_source,
                             quote_ts, quote_received_at, quote_age_seconds, decided_at)
    SELECT v.order_id, coalesce(m.top, 0) + v.n, v.quantity, v.price, v.rate, v.total_krw,
           v.fee_krw, v.fees::jsonb, v.rule, v.levels::jsonb, v.quote_price, v.quote_bid,
           v.quote_ask, v.quote_source, v.quote_ts, v.quote_received_at, v.quote_age_seconds,
           v.decided_at
    FROM unnest($1::uuid[], $2::int[], $3::numeric[], $4::numeric[], $5::numeric[],
                $6::numeric[], $7::numeric[], $8::text[], $9::text[], $10::text[],
                $11::numeric[], $12::numeric[], $13::numeric[], $14::text[],
                $15::timestamptz[], $16::timestamptz[], $17::numeric[], $18::timestamptz[])
         AS v(order_id, n, quantity, price, rate, total_krw, fee_krw, fees, rule, levels,
              quote_price, quote_bid, quote_ask, quote_source, quote_ts, quote_received_at,
              quote_age_seconds, decided_at)
    LEFT JOIN LATERAL (SELECT max(f.seq) AS top FROM order_fills AS f
                       WHERE f.order_id = v.order_id) AS m ON true
), events AS (
    INSERT INTO order_events (order_id, seq, kind, at, reason, detail)
    SELECT v.order_id, coalesce(m.top, 0) + v.n, v.kind, v.at, v.reason, v.detail::jsonb
    FROM unnest($19::uuid[], $20::int[], $21::text[], $22::timestamptz[], $23::text[],
                $24::text[]) AS v(order_id, n, kind, at, reason, detail)
    LEFT JOIN LATERAL (SELECT max(e.seq) AS top FROM order_events AS e
                       WHERE e.order_id = v.order_id) AS m ON true
)
INSERT INTO cash_ledger (user_id, order_id, kind, amount_krw, created_at)
SELECT v.user_id, v.order_id, v.kind, v.amount_krw, $29
FROM unnest($25::uuid[], $26::uuid[], $27::text[], $28::numeric[])
     AS v(user_id, order_id, kind, amount_krw)
