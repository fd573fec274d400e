-- Compare-and-set: a row whose balance is not what settlement believed is left alone (and counted).
UPDATE wallets AS w
SET balance_krw = v.new_balance, last_updated = $4
FROM unnest($1::uuid[], $2::numeric[], $3::numeric[]) AS v(user_id, old_balance, new_balance)
WHERE w.user_id = v.user_id AND w.balance_krw = v.old_balance
