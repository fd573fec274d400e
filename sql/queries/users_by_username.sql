SELECT id, username, nickname, role, password_hash, token_generation, created_at
FROM users WHERE username = $1
