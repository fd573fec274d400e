SELECT id, username, nickname, role, created_at FROM users WHERE id = $1
