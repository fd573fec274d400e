-- Each user's equity in KRW over time, recorded every few minutes, for the equity chart.
CREATE TABLE equity_snapshots (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    taken_at   timestamptz NOT NULL,
    equity_krw numeric(20, 8) NOT NULL,
    PRIMARY KEY (user_id, taken_at)
);
