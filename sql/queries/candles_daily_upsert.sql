-- Daily bars from a source's daily chart (or the sim's history): the source's figures win.
INSERT INTO candles_1d (ticker_id, day, open, high, low, close, volume)
SELECT batch.ticker_id, batch.day, batch.open, batch.high, batch.low, batch.close, batch.volume
FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[], $5::numeric[],
            $6::numeric[], $7::numeric[])
     AS batch (ticker_id, day, open, high, low, close, volume)
JOIN instruments USING (ticker_id)
ON CONFLICT (ticker_id, day) DO UPDATE SET
    open = EXCLUDED.open,
    high = EXCLUDED.high,
    low = EXCLUDED.low,
    close = EXCLUDED.close,
    volume = EXCLUDED.volume
