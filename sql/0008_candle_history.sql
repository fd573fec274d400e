-- Chart history (SPEC 6B): daily bars kept for good, next to the 1-minute bars, and the market
-- day boundaries the server aggregates by.

-- The time zone whose midnight starts a market's day: KST for KRX, the exchange day (New York)
-- for the US, 00:00 UTC for crypto (Upbit's day).
CREATE FUNCTION market_time_zone(ticker_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE split_part(ticker_id, '-', 1)
    WHEN 'KRX' THEN 'Asia/Seoul'
    WHEN 'US' THEN 'America/New_York'
    ELSE 'UTC'
END;

-- One bar per ticker and market day: from the sources' daily charts (backfill), from the sim's
-- history, and rolled up from 1-minute bars before those are pruned.
CREATE TABLE candles_1d (
    ticker_id text NOT NULL REFERENCES instruments (ticker_id),
    day       date NOT NULL,  -- the market's own date (see market_time_zone)
    open      numeric(20, 8) NOT NULL,
    high      numeric(20, 8) NOT NULL,
    low       numeric(20, 8) NOT NULL,
    close     numeric(20, 8) NOT NULL,
    volume    numeric(20, 8) NOT NULL DEFAULT 0,
    PRIMARY KEY (ticker_id, day)
);

-- The pruning of old 1-minute bars scans by time.
CREATE INDEX candles_1m_bucket ON candles_1m (bucket);
