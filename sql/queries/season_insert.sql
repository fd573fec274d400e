INSERT INTO seasons (id, name, starts_at, ends_at, initial_cash_krw, markets, costs,
                     resets_allowed, late_join, max_position_pct, portfolio_visibility, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *, (SELECT count(*) FROM season_participants WHERE season_id = $1) AS participants
