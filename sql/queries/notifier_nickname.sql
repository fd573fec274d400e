-- The name a user goes by in notifications and rankings.
SELECT nickname FROM users WHERE id = $1
