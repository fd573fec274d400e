-- What decides who sees player $1's book: their share_trades and the visibility of the running
-- season they play in (NULL: free play).
SELECT u.id, u.nickname, coalesce(us.share_trades, false) AS share_trades,
       (SELECT s.portfolio_visibility FROM season_participants AS p
        JOIN seasons AS s ON s.id = p.season_id
        WHERE p.user_id = u.id AND s.status = 'running' AND p.started_at IS NOT NULL) AS visibility
FROM users AS u LEFT JOIN user_settings AS us ON us.user_id = u.id
WHERE u.id = $1
