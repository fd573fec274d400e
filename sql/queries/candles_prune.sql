-- Before 1-minute bars older than $1 are deleted, their days are kept as daily bars (where no
-- daily bar is stored yet); returns how many 1-minute bars went.
WITH rolled AS (
    INSERT INTO candles_1d (ticker_id, day, open, high, low, close, volume)
    SELECT ticker_id,
           (bucket AT TIME ZONE market_time_zone(ticker_id))::date,
           (array_agg(open ORDER BY bucket))[1],
           max(high),
           min(low),
           (array_agg(close ORDER BY bucket DESC))[1],
           sum(volume)
    FROM candles_1m
    WHERE bucket < $1
    GROUP BY 1, 2
    ON CONFLICT (ticker_id, day) DO NOTHING
    RETURNING 1
), pruned AS (
    DELETE FROM candles_1m WHERE bucket < $1 RETURNING 1
)
SELECT (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM rolled) AS rolled
