-- Compare-and-set on the quantity settlement believed was held.
UPDATE portfolios AS p
SET quantity = v.quantity, average_price = v.average_price, updated_at = $6
FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[])
     AS v(user_id, ticker_id, old_quantity, quantity, average_price)
WHERE p.user_id = v.user_id AND p.ticker_id = v.ticker_id AND p.quantity = v.old_quantity
