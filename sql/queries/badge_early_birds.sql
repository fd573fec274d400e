-- Season $1's participants who joined before it started.
SELECT p.user_id FROM season_participants AS p JOIN seasons AS s ON s.id = p.season_id
WHERE p.season_id = $1 AND p.joined_at < s.started_at
