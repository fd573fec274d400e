-- Which of these user ids exist now (the intake's sender check).
SELECT id FROM users WHERE id = ANY($1::uuid[])
