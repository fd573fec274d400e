-- Money moved in or out after $1, or ever for the accounts in $2 (those without a snapshot):
-- in time order, a restart's WITHDRAWAL before its DEPOSIT.
SELECT user_id, created_at, amount_krw, kind = 'WITHDRAWAL' AS restart
FROM cash_ledger
WHERE kind IN ('DEPOSIT', 'WITHDRAWAL') AND (created_at > $1 OR user_id = ANY($2::uuid[]))
ORDER BY created_at, kind = 'DEPOSIT', id
