-- User $2 joins season $1 at $3; nothing if already in it. Returns whether it is new.
INSERT INTO season_participants (season_id, user_id, joined_at) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
RETURNING true
