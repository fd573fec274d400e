SELECT badge, awarded_at, season_id FROM badges_awarded WHERE user_id = $1 ORDER BY awarded_at, badge
