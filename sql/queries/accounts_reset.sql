-- Start a user over ($1, whose wallet is locked and holds $3): positions gone, cash back to
-- $2, open orders cancelled. The ledger records the difference: balance = sum(ledger) holds.
WITH cancelled AS (
    UPDATE orders SET status = 'CANCELLED', reason = 'account_reset'
    WHERE user_id = $1 AND status = 'PENDING'
), positions AS (
    DELETE FROM portfolios WHERE user_id = $1
), ledger AS (
    INSERT INTO cash_ledger (user_id, kind, amount_krw) VALUES ($1, 'RESET', $2::numeric - $3::numeric)
)
UPDATE wallets SET balance_krw = $2, last_updated = now() WHERE user_id = $1
