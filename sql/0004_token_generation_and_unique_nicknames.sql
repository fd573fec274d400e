-- Token revocation (issue 9 item 11): a token carries its user's generation when minted; a
-- password change or a logout bumps the generation, and every older token stops working.
ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0;

-- Nicknames are unique case-insensitively (issue 9 item 13). Existing duplicates keep the
-- oldest account's nickname; the others get a suffix from their id (still at most 32 chars).
UPDATE users
SET nickname = left(users.nickname, 24) || ' #' || left(users.id::text, 6)
FROM (
    SELECT id, row_number() OVER (PARTITION BY lower(nickname) ORDER BY created_at, id) AS n
    FROM users
) AS ranked
WHERE ranked.id = users.id AND ranked.n > 1;

CREATE UNIQUE INDEX users_nickname_lower ON users (lower(nickname));
