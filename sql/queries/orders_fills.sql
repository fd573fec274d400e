-- The receipts of one order ($1), oldest first.
SELECT seq, quantity, price, rate, total_krw, fee_krw, fees::text AS fees, rule,
       levels::text AS levels, quote_price, quote_bid, quote_ask, quote_source, quote_ts,
       quote_received_at, quote_age_seconds, decided_at
FROM order_fills
WHERE order_id = $1
ORDER BY seq
