-- Merge a batch of bar changes into candles_1m, one row per (ticker, minute), in one statement.
-- Volume is the change since the last flush, so restarts and repeated flushes add up;
-- the first writer's open stands. Tickers missing from instruments are skipped.
INSERT INTO candles_1m (ticker_id, bucket, open, high, low, close, volume)
SELECT batch.ticker_id, batch.bucket, batch.open, batch.high, batch.low, batch.close, batch.volume
FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[], $5::numeric[],
            $6::numeric[], $7::numeric[])
     AS batch (ticker_id, bucket, open, high, low, close, volume)
JOIN instruments USING (ticker_id)
ON CONFLICT (ticker_id, bucket) DO UPDATE SET
    high = GREATEST(candles_1m.high, EXCLUDED.high),
    low = LEAST(candles_1m.low, EXCLUDED.low),
    close = EXCLUDED.close,
    volume = candles_1m.volume + EXCLUDED.volume
