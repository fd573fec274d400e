-- Orders that end without a fill: FAILED or CANCELLED, with the reason code.
UPDATE orders AS o
SET status = v.status, reason = v.reason
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, status, reason)
WHERE o.id = v.id AND o.status = 'PENDING'
RETURNING o.id
