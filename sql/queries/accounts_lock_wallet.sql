SELECT w.user_id, w.balance_krw
FROM wallets AS w JOIN users AS u ON u.id = w.user_id
WHERE u.username = $1
FOR UPDATE OF w
