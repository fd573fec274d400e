-- Badges not yet told on Discord, marked told: the recap that reads them announces them.
UPDATE badges_awarded AS b SET announced = true
FROM users AS u
WHERE u.id = b.user_id AND NOT b.announced
RETURNING b.user_id, u.nickname, b.badge, b.awarded_at
