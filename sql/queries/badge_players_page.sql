-- A page of the players after $1 (by id), at most $2: the badge awarder's look at everyone when
-- it starts, a page at a time.
SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2
