-- Orders as settlement decided them (any change: filled, rested, triggered, a trailing mark
-- moved, modified, ended). Compare-and-set: only rows still open with the filled quantity
-- settlement believed are touched, and their ids returned, so a stale belief aborts the batch.
UPDATE orders AS o
SET status = v.status, filled_quantity = v.filled_quantity, average_price = v.average_price,
    price = v.average_price, applied_exchange_rate = v.rate, total_krw = v.total_krw,
    fee_krw = v.fee_krw, fees = v.fees::jsonb, reserved_krw = v.reserved_krw,
    trail_mark = v.trail_mark, stop_price = v.stop_price, quantity = v.quantity,
    limit_price = v.limit_price, trail_percent = v.trail_percent, trail_amount = v.trail_amount,
    triggered_at = v.triggered_at, expires_at = v.expires_at, resting_since = v.resting_since,
    reason = v.reason, filled_at = v.filled_at
FROM unnest($1::uuid[], $2::numeric[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
            $7::numeric[], $8::numeric[], $9::text[], $10::numeric[], $11::numeric[],
            $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[],
            $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::text[],
            $21::timestamptz[])
     AS v(id, old_filled_quantity, status, filled_quantity, average_price, rate, total_krw,
          fee_krw, fees, reserved_krw, trail_mark, stop_price, quantity, limit_price,
          trail_percent, trail_amount, triggered_at, expires_at, resting_since, reason,
          filled_at)
WHERE o.id = v.id AND o.status IN ('PENDING', 'PARTIALLY_FILLED')
  AND o.filled_quantity = v.old_filled_quantity
RETURNING o.id
