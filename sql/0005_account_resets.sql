-- A reset is explained by the books: each position it removes is closed at zero value (a row
-- in position_closures), the cash left is withdrawn (WITHDRAWAL) and the starting cash is
-- deposited (DEPOSIT). The account's current run starts at its latest WITHDRAWAL, in
-- (created_at, id) order.
CREATE TABLE position_closures (
    id            bigserial PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticker_id     text NOT NULL REFERENCES instruments (ticker_id),
    quantity      numeric(20, 8) NOT NULL CHECK (quantity > 0),
    average_price numeric(20, 8) NOT NULL CHECK (average_price >= 0),  -- in the asset's currency
    currency      text NOT NULL CHECK (currency IN ('KRW', 'USD', 'KRW-COIN')),
    reason        text NOT NULL CHECK (reason IN ('account_reset')),
    closed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX position_closures_user ON position_closures (user_id, id);

ALTER TABLE cash_ledger DROP CONSTRAINT cash_ledger_kind_check;
ALTER TABLE cash_ledger ADD CONSTRAINT cash_ledger_kind_check
    CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'BUY', 'SELL', 'RESET'));

-- An older RESET row moved (initial - cash): it becomes the WITHDRAWAL of the cash then held
-- and a DEPOSIT of the initial cash at the same instant.
WITH resets AS (
    SELECT id, user_id, amount_krw, created_at,
           coalesce(sum(amount_krw) OVER (PARTITION BY user_id ORDER BY id
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS held
    FROM cash_ledger
), old AS (
    SELECT * FROM resets WHERE id IN (SELECT id FROM cash_ledger WHERE kind = 'RESET')
), withdrawn AS (
    UPDATE cash_ledger AS l SET kind = 'WITHDRAWAL', amount_krw = -old.held
    FROM old WHERE l.id = old.id
)
INSERT INTO cash_ledger (user_id, kind, amount_krw, created_at)
SELECT user_id, 'DEPOSIT', held + amount_krw, created_at FROM old ORDER BY id;

ALTER TABLE cash_ledger DROP CONSTRAINT cash_ledger_kind_check;
ALTER TABLE cash_ledger ADD CONSTRAINT cash_ledger_kind_check
    CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'BUY', 'SELL'));
