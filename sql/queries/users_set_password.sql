UPDATE users SET password_hash = $2 WHERE username = $1
