SELECT token_generation FROM users WHERE id = $1
