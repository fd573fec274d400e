-- What one account's ($1) open orders hold back: the cash of its BUYs (reserved_krw, kept by
-- settlement) and per ticker the unfilled quantity of its accepted SELLs (resting_since set: a
-- SELL not yet decided holds nothing yet). ticker_id NULL: the cash row.
SELECT NULL::text AS ticker_id, coalesce(sum(reserved_krw), 0) AS reserved
FROM orders
WHERE user_id = $1 AND status IN ('PENDING', 'PARTIALLY_FILLED') AND side = 'BUY'
UNION ALL
SELECT ticker_id, sum(quantity - filled_quantity)
FROM orders
WHERE user_id = $1 AND status IN ('PENDING', 'PARTIALLY_FILLED') AND side = 'SELL'
  AND resting_since IS NOT NULL
GROUP BY ticker_id
