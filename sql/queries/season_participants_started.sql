-- Season $1's participants whose accounts are set, with when (their period's start).
SELECT p.user_id, u.nickname, p.started_at
FROM season_participants AS p JOIN users AS u ON u.id = p.user_id
WHERE p.season_id = $1 AND p.started_at IS NOT NULL
