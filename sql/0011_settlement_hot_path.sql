-- The settlement commit's per-row costs (measured with perf on bench.settle: foreign-key
-- checks were a fifth of PostgreSQL's time per order) and its plans under stale statistics.
--
-- 1. A receipt, an order event and an order's cash ledger row are written only by
--    `settlement_commit`, in the statement that has just written their order: the function now
--    proves that each one belongs to an order this batch wrote (and takes the ledger row's user
--    from that order's row, not from the payload), so the per-row foreign-key checks against
--    `orders` go. The ledger's user foreign key stays (deposits and resets write it too).
-- 2. `(user_id, client_order_id)` is unique only where a client id is given: the same rule
--    (NULLs never collide), without two index entries per order that has none.
-- 3. Rows are found by key (`= ANY(...)` of the batch's ids), so a batch never scans every open
--    order (or the open-orders index, dead entries and all), wallet or position when the
--    planner's statistics lag behind a burst of new orders (seen: 20,000 freshly recovered
--    orders, 42 ms per commit instead of 14).

ALTER TABLE order_fills DROP CONSTRAINT order_fills_order_id_fkey;
ALTER TABLE order_events DROP CONSTRAINT order_events_order_id_fkey;
ALTER TABLE cash_ledger DROP CONSTRAINT cash_ledger_order_id_fkey;

ALTER TABLE orders DROP CONSTRAINT orders_user_id_client_order_id_key;
CREATE UNIQUE INDEX orders_client_order_id ON orders (user_id, client_order_id)
    WHERE client_order_id IS NOT NULL;

-- `batch` is the JSON that daemon/settlement_store.py encodes: arrays "orders", "wallets",
-- "position_updates", "position_inserts", "fills" and "events" (decimals as strings, exact).
-- A row that is not what settlement believed (an order no longer open with the filled quantity
-- it knew, a balance or a quantity changed elsewhere) raises P0001 with HINT
-- 'settlement_stale' (DETAIL: the order ids no longer open, as JSON) and nothing is written.
-- A fill or event for an order the batch did not write raises P0001 with HINT
-- 'settlement_unowned': a bug in the caller, never written either.
CREATE OR REPLACE FUNCTION settlement_commit(batch jsonb, at_time timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    touched integer;
    not_open jsonb;
    written_ids uuid[];
    written_users uuid[];
BEGIN
    WITH v AS (
        SELECT * FROM jsonb_to_recordset(batch -> 'orders') AS v(
            id uuid, old_filled_quantity numeric, status text, filled_quantity numeric,
            average_price numeric, rate numeric, total_krw numeric, fee_krw numeric, fees jsonb,
            reserved_krw numeric, trail_mark numeric, stop_price numeric, quantity numeric,
            limit_price numeric, trail_percent numeric, trail_amount numeric,
            triggered_at timestamptz, expires_at timestamptz, resting_since timestamptz,
            reason text, filled_at timestamptz)
    ), written AS (
        UPDATE orders AS o
        SET status = v.status, filled_quantity = v.filled_quantity,
            average_price = v.average_price, price = v.average_price,
            applied_exchange_rate = v.rate, total_krw = v.total_krw, fee_krw = v.fee_krw,
            fees = v.fees, reserved_krw = v.reserved_krw, trail_mark = v.trail_mark,
            stop_price = v.stop_price, quantity = v.quantity, limit_price = v.limit_price,
            trail_percent = v.trail_percent, trail_amount = v.trail_amount,
            triggered_at = v.triggered_at, expires_at = v.expires_at,
            resting_since = v.resting_since, reason = v.reason, filled_at = v.filled_at
        FROM v
        WHERE o.id = ANY (ARRAY(SELECT id FROM v)) AND o.id = v.id
          -- Open, said as "not closed" so that the planner never reaches the row through the
          -- open-orders index: every order passes through it, and its dead entries pile up
          -- between vacuums (seen: 20 ms per batch scanning them).
          AND o.status NOT IN ('FILLED', 'CANCELLED', 'FAILED')
          AND o.filled_quantity = v.old_filled_quantity
        RETURNING o.id, o.user_id
    ), kept AS (
        SELECT array_agg(id) AS ids, array_agg(user_id) AS users FROM written
    )
    SELECT kept.ids, kept.users,
           (SELECT jsonb_agg(v.id) FROM v WHERE v.id <> ALL (coalesce(kept.ids, '{}')))
    INTO written_ids, written_users, not_open
    FROM kept;
    IF not_open IS NOT NULL THEN
        RAISE EXCEPTION 'orders no longer as settlement believed'
            USING HINT = 'settlement_stale', DETAIL = not_open::text;
    END IF;

    WITH v AS (
        SELECT * FROM jsonb_to_recordset(batch -> 'wallets')
                 AS v(user_id uuid, old_balance numeric, new_balance numeric)
    )
    UPDATE wallets AS w SET balance_krw = v.new_balance, last_updated = at_time
    FROM v
    WHERE w.user_id = ANY (ARRAY(SELECT user_id FROM v)) AND w.user_id = v.user_id
      AND w.balance_krw = v.old_balance;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> jsonb_array_length(batch -> 'wallets') THEN
        RAISE EXCEPTION 'wallet balance differs from settlement''s'
            USING HINT = 'settlement_stale', DETAIL = '[]';
    END IF;

    WITH v AS (
        SELECT * FROM jsonb_to_recordset(batch -> 'position_updates')
                 AS v(user_id uuid, ticker_id text, old_quantity numeric, quantity numeric,
                      average_price numeric)
    )
    UPDATE portfolios AS p
    SET quantity = v.quantity, average_price = v.average_price, updated_at = at_time
    FROM v
    WHERE p.user_id = ANY (ARRAY(SELECT user_id FROM v)) AND p.user_id = v.user_id
      AND p.ticker_id = v.ticker_id AND p.quantity = v.old_quantity;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> jsonb_array_length(batch -> 'position_updates') THEN
        RAISE EXCEPTION 'position differs from settlement''s'
            USING HINT = 'settlement_stale', DETAIL = '[]';
    END IF;

    BEGIN
        INSERT INTO portfolios (user_id, ticker_id, quantity, average_price, currency, updated_at)
        SELECT v.user_id, v.ticker_id, v.quantity, v.average_price, v.currency, at_time
        FROM jsonb_to_recordset(batch -> 'position_inserts')
             AS v(user_id uuid, ticker_id text, quantity numeric, average_price numeric,
                  currency text);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'a position settlement thought new already exists'
            USING HINT = 'settlement_stale', DETAIL = '[]';
    END;

    -- Receipts, history and the ledger, each for an order written above (the join), the
    -- ledger's user the order's own. seq continues each order's own (n is 1, 2, ... within the
    -- batch); a fill's ledger row carries the fill's seq.
    WITH v AS (
        SELECT * FROM jsonb_to_recordset(batch -> 'fills') AS v(
            order_id uuid, n integer, side text, cash_delta numeric,
            quantity numeric, price numeric, rate numeric, total_krw numeric, fee_krw numeric,
            fees jsonb, rule text, levels jsonb, quote_price numeric, quote_bid numeric,
            quote_ask numeric, quote_source text, quote_ts timestamptz,
            quote_received_at timestamptz, quote_age_seconds numeric, decided_at timestamptz)
    ), numbered AS (
        SELECT v.*, w.user_id, coalesce(m.top, 0) + v.n AS seq
        FROM v
        JOIN unnest(written_ids, written_users) AS w(id, user_id) ON w.id = v.order_id
        LEFT JOIN LATERAL (SELECT max(f.seq) AS top FROM order_fills AS f
                           WHERE f.order_id = v.order_id) AS m ON true
    ), fills AS (
        INSERT INTO order_fills (order_id, seq, quantity, price, rate, total_krw, fee_krw, fees,
                                 rule, levels, quote_price, quote_bid, quote_ask, quote_source,
                                 quote_ts, quote_received_at, quote_age_seconds, decided_at)
        SELECT order_id, seq, quantity, price, rate, total_krw, fee_krw, fees, rule, levels,
               quote_price, quote_bid, quote_ask, quote_source, quote_ts, quote_received_at,
               quote_age_seconds, decided_at
        FROM numbered
    )
    INSERT INTO cash_ledger (user_id, order_id, fill_seq, kind, amount_krw, created_at)
    SELECT user_id, order_id, seq, side, cash_delta, at_time FROM numbered;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> jsonb_array_length(batch -> 'fills') THEN
        RAISE EXCEPTION 'a fill for an order this batch did not write'
            USING HINT = 'settlement_unowned';
    END IF;

    INSERT INTO order_events (order_id, seq, kind, at, reason, detail)
    SELECT v.order_id, coalesce(m.top, 0) + v.n, v.kind, v.at, v.reason, v.detail
    FROM jsonb_to_recordset(batch -> 'events')
         AS v(order_id uuid, n integer, kind text, at timestamptz, reason text, detail jsonb)
    JOIN unnest(written_ids) AS w(id) ON w.id = v.order_id
    LEFT JOIN LATERAL (SELECT max(e.seq) AS top FROM order_events AS e
                       WHERE e.order_id = v.order_id) AS m ON true;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> jsonb_array_length(batch -> 'events') THEN
        RAISE EXCEPTION 'an event for an order this batch did not write'
            USING HINT = 'settlement_unowned';
    END IF;
END
$fn$;
