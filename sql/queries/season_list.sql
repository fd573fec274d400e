-- Every season, the latest first, with its number of participants.
SELECT s.*, (SELECT count(*) FROM season_participants AS p WHERE p.season_id = s.id) AS participants
FROM seasons AS s
ORDER BY s.starts_at DESC
