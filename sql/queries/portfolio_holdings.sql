SELECT ticker_id, quantity, average_price, currency
FROM portfolios
WHERE user_id = $1 AND quantity > 0
ORDER BY ticker_id
