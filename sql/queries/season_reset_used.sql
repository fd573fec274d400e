UPDATE season_participants SET resets_used = resets_used + 1 WHERE season_id = $1 AND user_id = $2
