-- The running season, else the next scheduled one, else the latest ended: "the season".
SELECT s.*, (SELECT count(*) FROM season_participants AS p WHERE p.season_id = s.id) AS participants
FROM seasons AS s
ORDER BY (s.status = 'running') DESC, (s.status = 'scheduled') DESC,
         CASE WHEN s.status = 'scheduled' THEN s.starts_at END ASC, s.starts_at DESC
LIMIT 1
