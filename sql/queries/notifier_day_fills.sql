-- Orders filled after $1 up to $2, with their players' nicknames (the recap's best trade).
SELECT o.ticker_id, o.side, o.price, o.currency, u.nickname
FROM orders AS o JOIN users AS u ON u.id = o.user_id
WHERE o.status = 'FILLED' AND o.filled_at > $1 AND o.filled_at <= $2
