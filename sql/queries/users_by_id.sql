SELECT id, username, nickname, role, token_generation, created_at FROM users WHERE id = $1
