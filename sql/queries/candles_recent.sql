-- The last $2 one-minute bars of ticker $1 that start before $3, oldest first.
SELECT ticker_id, time, open, high, low, close, volume
FROM (
    SELECT ticker_id, bucket AS time, open, high, low, close, volume
    FROM candles_1m
    WHERE ticker_id = $1 AND bucket < $3
    ORDER BY bucket DESC
    LIMIT $2
) AS latest
ORDER BY time
