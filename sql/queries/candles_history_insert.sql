-- Backfilled or simulated 1-minute bars: a minute already stored (by the live roller) is kept.
INSERT INTO candles_1m (ticker_id, bucket, open, high, low, close, volume)
SELECT batch.ticker_id, batch.bucket, batch.open, batch.high, batch.low, batch.close, batch.volume
FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[], $5::numeric[],
            $6::numeric[], $7::numeric[])
     AS batch (ticker_id, bucket, open, high, low, close, volume)
JOIN instruments USING (ticker_id)
ON CONFLICT (ticker_id, bucket) DO NOTHING
