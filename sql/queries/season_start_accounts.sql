-- Set the accounts of season $1's participants not yet started (only user $4's if not null)
-- to the season's starting cash $3 at $2: each position closed at zero value (a
-- position_closures row), the cash held withdrawn and $3 deposited, and a snapshot at $2 that
-- carries the return index on unchanged (a start is a restart, not a return). Returns the users.
WITH members AS (
    SELECT p.user_id, w.balance_krw
    FROM season_participants AS p JOIN wallets AS w ON w.user_id = p.user_id
    WHERE p.season_id = $1 AND p.started_at IS NULL AND ($4::uuid IS NULL OR p.user_id = $4)
    FOR UPDATE OF w, p
), removed AS (
    DELETE FROM portfolios AS pf USING members AS m WHERE pf.user_id = m.user_id
    RETURNING pf.user_id, pf.ticker_id, pf.quantity, pf.average_price, pf.currency
), closed AS (
    INSERT INTO position_closures (user_id, ticker_id, quantity, average_price, currency, reason,
                                   closed_at)
    SELECT user_id, ticker_id, quantity, average_price, currency, 'season_started', $2
    FROM removed WHERE quantity > 0
), ledger AS (
    INSERT INTO cash_ledger (user_id, kind, amount_krw, created_at)
    SELECT user_id, kind, amount, $2
    FROM members, LATERAL (VALUES (1, 'WITHDRAWAL', -balance_krw), (2, 'DEPOSIT', $3::numeric))
         AS v(step, kind, amount)
    ORDER BY user_id, step
), snapshots AS (
    INSERT INTO equity_snapshots (user_id, taken_at, equity_krw, growth)
    SELECT m.user_id, $2, $3, coalesce(
        (SELECT s.growth FROM equity_snapshots AS s WHERE s.user_id = m.user_id AND s.taken_at < $2
         ORDER BY s.taken_at DESC LIMIT 1), 1)
    FROM members AS m
    ON CONFLICT (user_id, taken_at) DO UPDATE
        SET equity_krw = excluded.equity_krw, growth = excluded.growth
), wallets_set AS (
    UPDATE wallets AS w SET balance_krw = $3, last_updated = $2
    FROM members AS m WHERE w.user_id = m.user_id
)
UPDATE season_participants AS p SET started_at = $2
FROM members AS m WHERE p.season_id = $1 AND p.user_id = m.user_id
RETURNING p.user_id
