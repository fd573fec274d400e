-- Seasons (SPEC 6C): competitions with rules, their participants, the standings frozen at
-- their end (the hall of fame), badges, the players' sharing settings, and the time-weighted
-- return index carried by every equity snapshot (docs/seasons.md).

-- btree_gist is not needed: the exclusion is on one range column, which gist indexes itself.
CREATE TABLE seasons (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    starts_at            timestamptz NOT NULL,
    ends_at              timestamptz NOT NULL,
    initial_cash_krw     numeric(20, 8) NOT NULL CHECK (initial_cash_krw > 0),
    markets              text[] NOT NULL
                         CHECK (cardinality(markets) > 0 AND markets <@ ARRAY['KRX', 'US', 'CRYPTO']),
    costs                text NOT NULL CHECK (costs IN ('kr-broker-2026', 'none')),
    resets_allowed       integer NOT NULL CHECK (resets_allowed >= 0),
    late_join            boolean NOT NULL,
    max_position_pct     numeric(20, 8) CHECK (max_position_pct > 0 AND max_position_pct <= 100),
    portfolio_visibility text NOT NULL
                         CHECK (portfolio_visibility IN ('private', 'after_end', 'live', 'delayed_15m')),
    status               text NOT NULL DEFAULT 'scheduled'
                         CHECK (status IN ('scheduled', 'running', 'ended')),
    started_at           timestamptz,  -- when the clock actually started it (later if the daemon was down)
    ended_at             timestamptz,
    created_by           uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK ((status = 'scheduled') = (started_at IS NULL)),
    CHECK ((status = 'ended') = (ended_at IS NOT NULL)),
    -- One season at a time: "the season" of a player is never ambiguous.
    EXCLUDE USING gist (tstzrange(starts_at, ends_at) WITH &&)
);

CREATE TABLE season_participants (
    season_id   uuid NOT NULL REFERENCES seasons (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at   timestamptz NOT NULL,
    started_at  timestamptz,  -- when the account was set to the season's cash (start or late join)
    resets_used integer NOT NULL DEFAULT 0 CHECK (resets_used >= 0),
    PRIMARY KEY (season_id, user_id)
);
CREATE INDEX season_participants_user ON season_participants (user_id);

-- Frozen when the season ends and never changed after: the hall of fame.
CREATE TABLE season_standings (
    season_id        uuid NOT NULL REFERENCES seasons (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rank             integer NOT NULL CHECK (rank > 0),
    nickname         text NOT NULL,
    equity_krw       numeric(20, 8) NOT NULL,
    return_pct       numeric(20, 8) NOT NULL,
    max_drawdown_pct numeric(20, 8),
    volatility_pct   numeric(20, 8),
    sharpe           numeric(20, 8),
    trades           integer NOT NULL,
    PRIMARY KEY (season_id, user_id)
);

-- A badge is awarded to a user once, ever (the primary key says so).
CREATE TABLE badges_awarded (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    badge      text NOT NULL CHECK (badge ~ '^[a-z0-9_]{1,40}$'),
    season_id  uuid REFERENCES seasons (id) ON DELETE SET NULL,
    awarded_at timestamptz NOT NULL,
    announced  boolean NOT NULL DEFAULT false,  -- told on Discord in a recap
    PRIMARY KEY (user_id, badge)
);

CREATE TABLE user_settings (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    share_trades boolean NOT NULL DEFAULT false
);

ALTER TABLE position_closures DROP CONSTRAINT position_closures_reason_check;
ALTER TABLE position_closures ADD CONSTRAINT position_closures_reason_check
    CHECK (reason IN ('account_reset', 'season_started'));

-- The time-weighted return index: 1 at an account's first snapshot, chained from snapshot to
-- snapshot with deposits and restarts (resets, season starts) taken out (daemon/ranking_metrics.py).
-- Snapshots taken before this migration start the chain at 1.
ALTER TABLE equity_snapshots ADD COLUMN growth numeric NOT NULL DEFAULT 1 CHECK (growth >= 0);
-- Taken at a period boundary (00:00 KST): the daily points of the metrics.
ALTER TABLE equity_snapshots ADD COLUMN boundary boolean NOT NULL DEFAULT false;
CREATE INDEX equity_snapshots_boundary ON equity_snapshots (taken_at) WHERE boundary;
CREATE INDEX equity_snapshots_taken ON equity_snapshots (taken_at);

-- The flows since the latest snapshots, found by time.
CREATE INDEX cash_ledger_flows ON cash_ledger (created_at)
    WHERE kind IN ('DEPOSIT', 'WITHDRAWAL');
CREATE INDEX orders_filled ON orders (filled_at) WHERE status = 'FILLED';
