UPDATE orders AS o
SET status = 'FILLED', price = v.price, applied_exchange_rate = v.rate, total_krw = v.total_krw,
    fee_krw = v.fee_krw, filled_at = v.filled_at
FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::timestamptz[])
     AS v(id, price, rate, total_krw, fee_krw, filled_at)
WHERE o.id = v.id AND o.status = 'PENDING'
RETURNING o.id
