UPDATE users SET token_generation = token_generation + 1 WHERE id = $1
