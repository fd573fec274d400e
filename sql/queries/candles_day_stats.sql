-- Each ticker's volume and traded value (Σ volume × close of its 1-minute bars) over its
-- market's latest day with bars, looking back at most 4 days from $1 (a long weekend).
WITH recent AS (
    SELECT ticker_id, bucket, close, volume,
           (bucket AT TIME ZONE market_time_zone(ticker_id))::date AS day
    FROM candles_1m
    WHERE bucket >= $1::timestamptz - interval '4 days'
), latest AS (
    SELECT ticker_id, max(day) AS day FROM recent GROUP BY ticker_id
)
SELECT r.ticker_id, l.day, sum(r.volume) AS volume, sum(r.volume * r.close) AS traded_value
FROM recent AS r
JOIN latest AS l ON l.ticker_id = r.ticker_id AND l.day = r.day
GROUP BY r.ticker_id, l.day
ORDER BY r.ticker_id
