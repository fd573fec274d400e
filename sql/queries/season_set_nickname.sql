UPDATE users SET nickname = $2 WHERE id = $1 RETURNING id, username, nickname, role
