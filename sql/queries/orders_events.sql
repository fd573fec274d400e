-- The history of one order ($1), oldest first.
SELECT seq, kind, at, reason, detail::text AS detail
FROM order_events
WHERE order_id = $1
ORDER BY seq
