-- Orders v2 (SPEC 6A, issue 11): the engine's columns on orders, STOP / STOP_LIMIT /
-- TRAILING_STOP, PARTIALLY_FILLED, MARKET BUY by amount_krw, and the receipts: one order_fills
-- row per fill (the quote it was decided on and the rule that priced it) and one order_events
-- row per status change, trigger, modification and fill. Existing rows keep their meaning:
-- a v1 order gets the time in force the engine gives its market by default (DAY for KRX and US,
-- GTC for crypto), its filled quantity and average price from its fill, and no reservation.
ALTER TABLE orders
    ADD COLUMN time_in_force   text,
    ADD COLUMN amount_krw      numeric(20, 8) CHECK (amount_krw > 0),
    ADD COLUMN stop_price      numeric(20, 8) CHECK (stop_price > 0),
    ADD COLUMN trail_percent   numeric(20, 8) CHECK (trail_percent > 0 AND trail_percent < 100),
    ADD COLUMN trail_amount    numeric(20, 8) CHECK (trail_amount > 0),
    ADD COLUMN trail_mark      numeric(20, 8),
    ADD COLUMN filled_quantity numeric(20, 8) NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
    ADD COLUMN average_price   numeric(20, 8),
    ADD COLUMN reserved_krw    numeric(20, 8) NOT NULL DEFAULT 0 CHECK (reserved_krw >= 0),
    ADD COLUMN fees            jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN triggered_at    timestamptz,
    ADD COLUMN expires_at      timestamptz,
    ADD COLUMN resting_since   timestamptz;

UPDATE orders
SET time_in_force = CASE WHEN ticker_id LIKE 'CRYPTO-%' THEN 'GTC' ELSE 'DAY' END,
    filled_quantity = CASE WHEN status = 'FILLED' THEN quantity ELSE 0 END,
    average_price = CASE WHEN status = 'FILLED' THEN price END,
    fees = CASE WHEN status = 'FILLED' AND fee_krw > 0
                THEN jsonb_build_array(jsonb_build_object('kind', 'commission',
                                                          'amount_krw', fee_krw::text))
                ELSE '[]' END;

ALTER TABLE orders
    ALTER COLUMN time_in_force SET NOT NULL,
    ADD CONSTRAINT orders_time_in_force CHECK (time_in_force IN ('DAY', 'GTC', 'IOC', 'FOK', 'OPG')),
    ALTER COLUMN quantity DROP NOT NULL,
    ADD CONSTRAINT orders_quantity_or_amount CHECK ((quantity IS NULL) <> (amount_krw IS NULL)),
    ADD CONSTRAINT orders_amount_market_buy
        CHECK (amount_krw IS NULL OR (type = 'MARKET' AND side = 'BUY')),
    ADD CONSTRAINT orders_filled_within CHECK (quantity IS NULL OR filled_quantity <= quantity),
    ADD CONSTRAINT orders_trail_one_of
        CHECK ((type = 'TRAILING_STOP') = ((trail_percent IS NULL) <> (trail_amount IS NULL))),
    ADD CONSTRAINT orders_stop_price
        CHECK (type NOT IN ('STOP', 'STOP_LIMIT') OR stop_price IS NOT NULL);

-- The v1 type and status lists and the "limit price iff LIMIT" rule give way to v2's.
ALTER TABLE orders DROP CONSTRAINT orders_type_check;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders DROP CONSTRAINT orders_check;
ALTER TABLE orders
    ADD CONSTRAINT orders_type_check
        CHECK (type IN ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP')),
    ADD CONSTRAINT orders_status_check
        CHECK (status IN ('PENDING', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'FAILED')),
    ADD CONSTRAINT orders_limit_price CHECK ((type IN ('LIMIT', 'STOP_LIMIT')) = (limit_price IS NOT NULL));

DROP INDEX orders_pending;
CREATE INDEX orders_open ON orders (created_at, id) WHERE status IN ('PENDING', 'PARTIALLY_FILLED');

CREATE TABLE order_fills (
    order_id          uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seq               integer NOT NULL CHECK (seq > 0),
    quantity          numeric(20, 8) NOT NULL CHECK (quantity > 0),
    price             numeric(20, 8) NOT NULL,
    rate              numeric(20, 8) NOT NULL,
    total_krw         numeric(20, 8) NOT NULL,
    fee_krw           numeric(20, 8) NOT NULL,
    fees              jsonb NOT NULL,
    rule              text NOT NULL,
    levels            jsonb NOT NULL DEFAULT '[]',
    quote_price       numeric(20, 8) NOT NULL,
    quote_bid         numeric(20, 8),
    quote_ask         numeric(20, 8),
    quote_source      text NOT NULL,
    quote_ts          timestamptz NOT NULL,
    quote_received_at timestamptz NOT NULL,
    quote_age_seconds numeric(20, 8) NOT NULL,
    decided_at        timestamptz NOT NULL,
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE order_events (
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seq      integer NOT NULL CHECK (seq > 0),
    kind     text NOT NULL CHECK (kind IN ('accepted', 'modified', 'rested', 'triggered',
                                           'partially_filled', 'filled', 'cancelled', 'failed')),
    at       timestamptz NOT NULL,
    reason   text,
    detail   jsonb,
    PRIMARY KEY (order_id, seq)
);

-- A v1 fill's receipt is what v1 recorded: the price, rate and totals (no quote was kept).
INSERT INTO order_fills (order_id, seq, quantity, price, rate, total_krw, fee_krw, fees, rule,
                         quote_price, quote_source, quote_ts, quote_received_at,
                         quote_age_seconds, decided_at)
SELECT id, 1, quantity, price, applied_exchange_rate, total_krw, fee_krw, fees,
       CASE WHEN type = 'LIMIT' THEN 'limit_reached_at_limit'
            WHEN side = 'BUY' THEN 'marketable_at_ask' ELSE 'marketable_at_bid' END,
       price, 'v1', filled_at, filled_at, 0, filled_at
FROM orders WHERE status = 'FILLED';
-- Open v1 orders keep resting_since NULL: settlement decides them as arrivals (reservation,
-- expiry, the `accepted` event) on its next start.
INSERT INTO order_events (order_id, seq, kind, at)
SELECT id, 1, 'accepted', created_at FROM orders WHERE status <> 'PENDING';
INSERT INTO order_events (order_id, seq, kind, at, reason)
SELECT id, 2, CASE status WHEN 'FILLED' THEN 'filled' WHEN 'FAILED' THEN 'failed' ELSE 'cancelled' END,
       coalesce(filled_at, created_at), reason
FROM orders WHERE status <> 'PENDING';
