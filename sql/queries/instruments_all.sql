SELECT ticker_id, name, name_ko, market, currency, exchange, sim_start_price
FROM instruments
ORDER BY market, ticker_id
