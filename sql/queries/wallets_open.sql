-- A new wallet and its opening deposit, so that balance = sum(ledger) from the first day.
WITH wallet AS (
    INSERT INTO wallets (user_id, balance_krw, last_updated) VALUES ($1, $2, now())
)
INSERT INTO cash_ledger (user_id, kind, amount_krw) VALUES ($1, 'DEPOSIT', $2)
