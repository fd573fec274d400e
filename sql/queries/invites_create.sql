INSERT INTO invites (code, created_by) VALUES ($1, $2) RETURNING code, created_at
