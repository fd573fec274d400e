-- Start a user over ($1, whose wallet is locked and holds $3) with $2 of cash: open orders
-- (pending or partly filled) cancelled with an event each, each position closed at zero value
-- (a position_closures row), the cash held withdrawn and $2 deposited, at $4 (NULL: now).
-- balance = sum(ledger) holds, and the ledger says what happened.
WITH cancelled AS (
    UPDATE orders SET status = 'CANCELLED', reason = 'account_reset', reserved_krw = 0,
                      last_event_seq = last_event_seq + 1
    WHERE user_id = $1 AND status IN ('PENDING', 'PARTIALLY_FILLED')
    RETURNING id, last_event_seq
), cancel_events AS (
    INSERT INTO order_events (order_id, seq, kind, at, reason)
    SELECT c.id, c.last_event_seq, 'cancelled', coalesce($4::timestamptz, now()), 'account_reset'
    FROM cancelled AS c
), removed AS (
    DELETE FROM portfolios WHERE user_id = $1
    RETURNING ticker_id, quantity, average_price, currency
), closed AS (
    INSERT INTO position_closures (user_id, ticker_id, quantity, average_price, currency, reason,
                                   closed_at)
    SELECT $1, ticker_id, quantity, average_price, currency, 'account_reset',
           coalesce($4::timestamptz, now())
    FROM removed WHERE quantity > 0
), ledger AS (
    INSERT INTO cash_ledger (user_id, kind, amount_krw, created_at)
    VALUES ($1, 'WITHDRAWAL', -$3::numeric, coalesce($4::timestamptz, now())),
           ($1, 'DEPOSIT', $2::numeric, coalesce($4::timestamptz, now()))
)
UPDATE wallets SET balance_krw = $2, last_updated = coalesce($4::timestamptz, now()) WHERE user_id = $1
