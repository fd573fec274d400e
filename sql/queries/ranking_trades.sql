-- Filled orders per account after $1 up to $2.
SELECT user_id, count(*) AS trades FROM orders
WHERE status = 'FILLED' AND filled_at > $1 AND filled_at <= $2
GROUP BY user_id
