-- Award badge $2 to each of $1 at $3 (for season $4, if any); a badge already held is left as
-- it is. Returns the players newly awarded.
INSERT INTO badges_awarded (user_id, badge, season_id, awarded_at)
SELECT user_id, $2, $4, $3 FROM unnest($1::uuid[]) AS user_id
ON CONFLICT DO NOTHING
RETURNING user_id
