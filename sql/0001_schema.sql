-- The core schema (SPEC section 4): users, wallets, instruments, portfolios, orders, the cash ledger.
-- Money and quantities are NUMERIC(20,8); times are timestamptz (UTC).

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_]{3,32}$'),
    nickname      text NOT NULL CHECK (char_length(nickname) BETWEEN 1 AND 32),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'USER' CHECK (role IN ('ADMIN', 'USER')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wallets (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance_krw  numeric(20, 8) NOT NULL CHECK (balance_krw >= 0),
    last_updated timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instruments (
    ticker_id text PRIMARY KEY CHECK (ticker_id ~ '^(KRX-(STOCK|ETF)-[0-9][0-9A-Z]{5}|US-(STOCK|ETF)-[A-Z]{1,5}(\.[A-Z])?|CRYPTO-COIN-[A-Z0-9]{1,10})$'),
    name      text NOT NULL,
    name_ko   text,
    market    text NOT NULL CHECK (market IN ('KRX', 'US', 'CRYPTO')),
    currency  text NOT NULL CHECK (currency IN ('KRW', 'USD', 'KRW-COIN')),
    exchange  text NOT NULL,  -- KOSPI, KOSDAQ, NAS, NYS, AMS, UPBIT: where the quote comes from
    CHECK (split_part(ticker_id, '-', 1) = market)
);

CREATE TABLE portfolios (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticker_id     text NOT NULL REFERENCES instruments (ticker_id),
    quantity      numeric(20, 8) NOT NULL CHECK (quantity >= 0),
    average_price numeric(20, 8) NOT NULL CHECK (average_price >= 0),  -- in the asset's currency
    currency      text NOT NULL CHECK (currency IN ('KRW', 'USD', 'KRW-COIN')),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, ticker_id)
);

CREATE TABLE orders (
    id                    uuid PRIMARY KEY,
    user_id               uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_order_id       text CHECK (char_length(client_order_id) BETWEEN 1 AND 64),
    ticker_id             text NOT NULL REFERENCES instruments (ticker_id),
    side                  text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type                  text NOT NULL CHECK (type IN ('MARKET', 'LIMIT')),
    status                text NOT NULL DEFAULT 'PENDING'
                          CHECK (status IN ('PENDING', 'FILLED', 'CANCELLED', 'FAILED')),
    quantity              numeric(20, 8) NOT NULL CHECK (quantity > 0),
    limit_price           numeric(20, 8) CHECK (limit_price > 0),
    currency              text NOT NULL CHECK (currency IN ('KRW', 'USD', 'KRW-COIN')),
    price                 numeric(20, 8),  -- fill price in the asset's currency
    applied_exchange_rate numeric(20, 8),
    total_krw             numeric(20, 8),  -- price x quantity x rate, rounded to 8 places
    fee_krw               numeric(20, 8),
    reason                text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    filled_at             timestamptz,
    UNIQUE (user_id, client_order_id),
    CHECK ((type = 'LIMIT') = (limit_price IS NOT NULL)),
    CHECK (status <> 'FILLED' OR (price IS NOT NULL AND applied_exchange_rate IS NOT NULL
                                   AND total_krw IS NOT NULL AND fee_krw IS NOT NULL AND filled_at IS NOT NULL)),
    CHECK (status NOT IN ('FAILED', 'CANCELLED') OR reason IS NOT NULL)
);
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);
CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'PENDING';

-- Every wallet movement, so a balance can always be re-derived: balance = sum(amount_krw).
CREATE TABLE cash_ledger (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    order_id   uuid REFERENCES orders (id),
    kind       text NOT NULL CHECK (kind IN ('DEPOSIT', 'BUY', 'SELL', 'RESET')),
    amount_krw numeric(20, 8) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind IN ('BUY', 'SELL')) = (order_id IS NOT NULL))
);
CREATE UNIQUE INDEX cash_ledger_one_per_order ON cash_ledger (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX cash_ledger_user ON cash_ledger (user_id, id);

-- 1-minute OHLCV bars rolled up from ticks, for the charts.
CREATE TABLE candles_1m (
    ticker_id text NOT NULL REFERENCES instruments (ticker_id),
    bucket    timestamptz NOT NULL,  -- start of the minute, UTC
    open      numeric(20, 8) NOT NULL,
    high      numeric(20, 8) NOT NULL,
    low       numeric(20, 8) NOT NULL,
    close     numeric(20, 8) NOT NULL,
    volume    numeric(20, 8) NOT NULL DEFAULT 0,
    PRIMARY KEY (ticker_id, bucket)
);

-- Invite codes for PAPERTRADE_SIGNUP=invite.
CREATE TABLE invites (
    code       text PRIMARY KEY,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    used_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
