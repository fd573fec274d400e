-- One account's ($1) money in and out, and its equity at the start of the day ($2, 00:00 KST):
-- all-time net deposits; the money in at the day's start of its current run (which starts at
-- the latest WITHDRAWAL, a reset, in time then id order), or at the run's opening if it opened later; what moved in
-- or out after that; and the latest equity snapshot of the run at or before $2, if any.
WITH run AS (
    SELECT coalesce(
        (SELECT (created_at, id) FROM cash_ledger WHERE user_id = $1 AND kind = 'WITHDRAWAL'
         ORDER BY created_at DESC, id DESC LIMIT 1),
        ('-infinity'::timestamptz, 0::bigint)) AS start
), flows AS (
    SELECT l.amount_krw, l.created_at, (l.created_at, l.id) > run.start AS in_run
    FROM cash_ledger AS l CROSS JOIN run
    WHERE l.user_id = $1 AND l.kind IN ('DEPOSIT', 'WITHDRAWAL')
), opened AS (
    SELECT min(created_at) AS at FROM flows WHERE in_run
)
SELECT
    (SELECT coalesce(sum(amount_krw), 0) FROM flows) AS net_deposits_krw,
    (SELECT coalesce(sum(amount_krw), 0) FROM flows
     WHERE in_run AND created_at <= greatest(opened.at, $2)) AS deposits_at_day_start_krw,
    (SELECT coalesce(sum(amount_krw), 0) FROM flows
     WHERE in_run AND created_at > greatest(opened.at, $2)) AS deposits_since_day_start_krw,
    (SELECT s.equity_krw FROM equity_snapshots AS s
     WHERE s.user_id = $1 AND s.taken_at <= $2 AND s.taken_at >= opened.at
     ORDER BY s.taken_at DESC LIMIT 1) AS day_start_snapshot_krw
FROM opened
