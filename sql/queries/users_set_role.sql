UPDATE users SET role = $2 WHERE username = $1
RETURNING id, username, nickname, role, token_generation, created_at
