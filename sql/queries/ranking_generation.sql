-- The latest snapshot of anyone: the rankings' cached history is valid until a newer one.
SELECT max(taken_at) FROM equity_snapshots
