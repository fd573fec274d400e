-- One cash ledger row per fill (an order filled in parts moves cash once per part, never twice
-- for the same part), and one round trip per settlement batch: `settlement_commit` does all of
-- a batch's compare-and-set writes in the one statement that calls it.

ALTER TABLE cash_ledger ADD COLUMN fill_seq integer;
UPDATE cash_ledger SET fill_seq = 1 WHERE order_id IS NOT NULL;
DROP INDEX cash_ledger_one_per_order;
CREATE UNIQUE INDEX cash_ledger_one_per_fill ON cash_ledger (order_id, fill_seq)
    WHERE order_id IS NOT NULL;
ALTER TABLE cash_ledger ADD CONSTRAINT cash_ledger_fill_of_an_order
    CHECK ((order_id IS NULL) = (fill_seq IS NULL));

-- `batch` is the JSON that daemon/settlement_store.py encodes: arrays "orders", "wallets",
-- "position_updates", "position_inserts", "fills" and "events" (decimals as strings, exact).
-- A row that is not what settlement believed (an order no longer open with the filled quantity
-- it knew, a balance or a quantity changed elsewhere) raises P0001 with HINT
-- 'settlement_stale' (DETAIL: the order ids no longer open, as JSON) and nothing is written.
CREATE FUNCTION settlement_commit(batch jsonb, at_time timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    touched integer;
    not_open jsonb;
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
        WHERE o.id = v.id AND o.status IN ('PENDING', 'PARTIALLY_FILLED')
          AND o.filled_quantity = v.old_filled_quantity
        RETURNING o.id
    )
    SELECT jsonb_agg(v.id) INTO not_open FROM v WHERE v.id NOT IN (SELECT id FROM written);
    IF not_open IS NOT NULL THEN
        RAISE EXCEPTION 'orders no longer as settlement believed'
            USING HINT = 'settlement_stale', DETAIL = not_open::text;
    END IF;

    UPDATE wallets AS w SET balance_krw = v.new_balance, last_updated = at_time
    FROM jsonb_to_recordset(batch -> 'wallets')
         AS v(user_id uuid, old_balance numeric, new_balance numeric)
    WHERE w.user_id = v.user_id AND w.balance_krw = v.old_balance;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> jsonb_array_length(batch -> 'wallets') THEN
        RAISE EXCEPTION 'wallet balance differs from settlement''s'
            USING HINT = 'settlement_stale', DETAIL = '[]';
    END IF;

    UPDATE portfolios AS p
    SET quantity = v.quantity, average_price = v.average_price, updated_at = at_time
    FROM jsonb_to_recordset(batch -> 'position_updates')
         AS v(user_id uuid, ticker_id text, old_quantity numeric, quantity numeric,
              average_price numeric)
    WHERE p.user_id = v.user_id AND p.ticker_id = v.ticker_id AND p.quantity = v.old_quantity;
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

    -- Receipts, history and the ledger. seq continues each order's own (n is 1, 2, ... within
    -- the batch); a fill's ledger row carries the fill's seq.
    WITH v AS (
        SELECT * FROM jsonb_to_recordset(batch -> 'fills') AS v(
            order_id uuid, n integer, user_id uuid, side text, cash_delta numeric,
            quantity numeric, price numeric, rate numeric, total_krw numeric, fee_krw numeric,
            fees jsonb, rule text, levels jsonb, quote_price numeric, quote_bid numeric,
            quote_ask numeric, quote_source text, quote_ts timestamptz,
            quote_received_at timestamptz, quote_age_seconds numeric, decided_at timestamptz)
    ), numbered AS (
        SELECT v.*, coalesce(m.top, 0) + v.n AS seq
        FROM v
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

    INSERT INTO order_events (order_id, seq, kind, at, reason, detail)
    SELECT v.order_id, coalesce(m.top, 0) + v.n, v.kind, v.at, v.reason, v.detail
    FROM jsonb_to_recordset(batch -> 'events')
         AS v(order_id uuid, n integer, kind text, at timestamptz, reason text, detail jsonb)
    LEFT JOIN LATERAL (SELECT max(e.seq) AS top FROM order_events AS e
                       WHERE e.order_id = v.order_id) AS m ON true;
END
$fn$;
