-- Every account's cash and the money put in (deposits and resets).
SELECT u.id AS user_id, u.nickname, w.balance_krw,
       coalesce((SELECT sum(l.amount_krw) FROM cash_ledger AS l
                 WHERE l.user_id = u.id AND l.kind IN ('DEPOSIT', 'RESET')), 0) AS invested_krw
FROM users AS u
JOIN wallets AS w ON w.user_id = u.id
