SELECT user_id, ticker_id, quantity, average_price FROM portfolios WHERE user_id = ANY($1::uuid[])
