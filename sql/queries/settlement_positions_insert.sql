INSERT INTO portfolios (user_id, ticker_id, quantity, average_price, currency, updated_at)
SELECT v.user_id, v.ticker_id, v.quantity, v.average_price, v.currency, $6
FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::numeric[], $5::text[])
     AS v(user_id, ticker_id, quantity, average_price, currency)
