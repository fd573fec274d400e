-- Every account's cash and nickname (its holdings come from rankings_holdings).
SELECT u.id AS user_id, u.nickname, w.balance_krw
FROM users AS u
JOIN wallets AS w ON w.user_id = u.id
