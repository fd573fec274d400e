-- The newest stored 1-minute bar's start and the newest daily bar's day of ticker $1 (NULL
-- when none): where a backfill resumes.
SELECT (SELECT max(bucket) FROM candles_1m WHERE ticker_id = $1) AS minute,
       (SELECT max(day) FROM candles_1d WHERE ticker_id = $1) AS day
