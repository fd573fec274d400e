-- Seasons the clock must act on at $1: scheduled ones whose start has come, running ones
-- whose end has come (ends first, so two back to back end and start in order).
SELECT id, status FROM seasons
WHERE (status = 'scheduled' AND starts_at <= $1) OR (status = 'running' AND ends_at <= $1)
ORDER BY (status = 'running') DESC, starts_at
