-- Player $1's share_trades set to $2 (NULL: unchanged); returns the setting as it is.
INSERT INTO user_settings AS us (user_id, share_trades) VALUES ($1, coalesce($2, false))
ON CONFLICT (user_id) DO UPDATE SET share_trades = coalesce($2, us.share_trades)
RETURNING share_trades
