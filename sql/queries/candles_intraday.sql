-- Bars of $2 (5 minutes, 15 minutes, 1 hour) for ticker $1 from its 1-minute bars, the $3
-- newest that start before $4, oldest first. Every market's offset from UTC is whole hours,
-- so binning from a UTC origin keeps the bars on the market's own clock.
SELECT time, open, high, low, close, volume
FROM (
    SELECT date_bin($2::interval, bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS time,
           (array_agg(open ORDER BY bucket))[1] AS open,
           max(high) AS high,
           min(low) AS low,
           (array_agg(close ORDER BY bucket DESC))[1] AS close,
           sum(volume) AS volume
    FROM candles_1m
    WHERE ticker_id = $1 AND bucket < $4::timestamptz + $2::interval
    GROUP BY 1
    HAVING date_bin($2::interval, min(bucket), TIMESTAMPTZ '2000-01-03 00:00:00+00') < $4
    ORDER BY 1 DESC
    LIMIT $3
) AS newest
ORDER BY time
