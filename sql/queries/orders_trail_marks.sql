-- Trailing stops' marks written behind the ticks that moved them (settlement's own open orders;
-- an order that has ended meanwhile is left as it is).
UPDATE orders AS o
SET trail_mark = v.trail_mark, stop_price = v.stop_price
FROM unnest($1::uuid[], $2::numeric[], $3::numeric[]) AS v(id, trail_mark, stop_price)
WHERE o.id = ANY ($1::uuid[]) AND o.id = v.id
  AND o.status NOT IN ('FILLED', 'CANCELLED', 'FAILED')
