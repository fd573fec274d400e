UPDATE users SET password_hash = $2, token_generation = token_generation + 1
WHERE username = $1
RETURNING id
