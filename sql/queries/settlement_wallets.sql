SELECT user_id, balance_krw FROM wallets WHERE user_id = ANY($1::uuid[])
