-- The last 1-minute close of ticker $1 at or before each instant of $2 (none: no row).
SELECT t.at, c.close
FROM unnest($2::timestamptz[]) AS t(at)
JOIN LATERAL (
    SELECT close FROM candles_1m WHERE ticker_id = $1 AND bucket <= t.at
    ORDER BY bucket DESC LIMIT 1
) AS c ON true
ORDER BY t.at
