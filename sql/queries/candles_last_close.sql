-- The latest stored close of each ticker: a last price when no live quote has arrived yet.
SELECT DISTINCT ON (ticker_id) ticker_id, close FROM candles_1m ORDER BY ticker_id, bucket DESC
