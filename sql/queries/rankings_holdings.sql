SELECT user_id, ticker_id, quantity, average_price, currency FROM portfolios WHERE quantity > 0
