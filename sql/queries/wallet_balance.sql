SELECT balance_krw FROM wallets WHERE user_id = $1
