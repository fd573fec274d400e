INSERT INTO users (id, username, nickname, password_hash, role)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, username, nickname, role, token_generation, created_at
