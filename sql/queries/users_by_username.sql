SELECT id, username, nickname, role, password_hash, created_at FROM users WHERE username = $1
