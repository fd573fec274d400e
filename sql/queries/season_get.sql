SELECT s.*, (SELECT count(*) FROM season_participants AS p WHERE p.season_id = s.id) AS participants
FROM seasons AS s WHERE s.id = $1
