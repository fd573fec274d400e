-- Start a user over: positions gone, cash back to $2, open orders cancelled; the ledger keeps
-- the history and records the difference, so balance = sum(ledger) still holds.
WITH u AS (
    SELECT id FROM users WHERE username = $1
), cancelled AS (
    UPDATE orders SET status = 'CANCELLED', reason = 'account_reset'
    WHERE user_id = (SELECT id FROM u) AND status = 'PENDING'
), positions AS (
    DELETE FROM portfolios WHERE user_id = (SELECT id FROM u)
), old AS (
    SELECT balance_krw FROM wallets WHERE user_id = (SELECT id FROM u) FOR UPDATE
), ledger AS (
    INSERT INTO cash_ledger (user_id, kind, amount_krw)
    SELECT (SELECT id FROM u), 'RESET', $2 - old.balance_krw FROM old
)
UPDATE wallets SET balance_krw = $2, last_updated = now()
WHERE user_id = (SELECT id FROM u)
RETURNING user_id
