-- Whether a nickname is taken, letter case aside (the unique index users_nickname_lower).
SELECT 1 FROM users WHERE lower(nickname) = lower($1)
