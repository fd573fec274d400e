-- Every ticker's bars from minute $1 on: the roller's state after a (re)start.
SELECT ticker_id, bucket AS time, open, high, low, close, volume
FROM candles_1m
WHERE bucket >= $1
