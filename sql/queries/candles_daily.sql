-- Daily ($2 = 'day') or weekly ($2 = 'week', Monday to Sunday) bars of ticker $1, the $3 newest
-- that start before $4, oldest first; each starts at midnight of its market's time zone; $5 is
-- now, which says the market's current day.
-- A day is its stored daily bar (backfilled from the source, or rolled up before pruning),
-- or else the roll-up of its 1-minute bars; the market's current day always comes from the
-- 1-minute bars when there are any (a daily bar fetched at start-up stops short of now).
WITH zone AS (
    SELECT market_time_zone($1) AS name
), minute_days AS (
    SELECT (bucket AT TIME ZONE zone.name)::date AS day,
           (array_agg(open ORDER BY bucket))[1] AS open,
           max(high) AS high,
           min(low) AS low,
           (array_agg(close ORDER BY bucket DESC))[1] AS close,
           sum(volume) AS volume
    FROM candles_1m, zone
    WHERE ticker_id = $1
    GROUP BY 1
), today AS (
    SELECT ($5::timestamptz AT TIME ZONE zone.name)::date AS day FROM zone
), days AS (
    SELECT d.day, d.open, d.high, d.low, d.close, d.volume
    FROM candles_1d AS d, today
    WHERE d.ticker_id = $1
      AND NOT (d.day = today.day AND EXISTS (SELECT 1 FROM minute_days m WHERE m.day = d.day))
    UNION ALL
    SELECT m.day, m.open, m.high, m.low, m.close, m.volume
    FROM minute_days AS m, today
    WHERE m.day = today.day
       OR NOT EXISTS (SELECT 1 FROM candles_1d d WHERE d.ticker_id = $1 AND d.day = m.day)
), periods AS (
    SELECT date_trunc($2::text, day::timestamp)::date AS period,
           (array_agg(open ORDER BY day))[1] AS open,
           max(high) AS high,
           min(low) AS low,
           (array_agg(close ORDER BY day DESC))[1] AS close,
           sum(volume) AS volume
    FROM days
    GROUP BY 1
)
SELECT time, open, high, low, close, volume
FROM (
    SELECT period::timestamp AT TIME ZONE zone.name AS time, open, high, low, close, volume
    FROM periods, zone
    WHERE period::timestamp AT TIME ZONE zone.name < $4
    ORDER BY period DESC
    LIMIT $3
) AS newest
ORDER BY time
