-- The seasons user $1 has joined.
SELECT season_id FROM season_participants WHERE user_id = $1
