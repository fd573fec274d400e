-- Every account's cash and the money put in during its current run: the flows after its latest
-- reset's WITHDRAWAL (in time, then id order), or all of them for an account never reset.
SELECT u.id AS user_id, u.nickname, w.balance_krw,
       coalesce((SELECT sum(l.amount_krw) FROM cash_ledger AS l
                 WHERE l.user_id = u.id AND l.kind IN ('DEPOSIT', 'WITHDRAWAL')
                   AND (l.created_at, l.id) > coalesce(
                       (SELECT (r.created_at, r.id) FROM cash_ledger AS r
                        WHERE r.user_id = u.id AND r.kind = 'WITHDRAWAL'
                        ORDER BY r.created_at DESC, r.id DESC LIMIT 1),
                       ('-infinity'::timestamptz, 0::bigint))),
                0) AS invested_krw
FROM users AS u
JOIN wallets AS w ON w.user_id = u.id
