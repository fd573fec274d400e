UPDATE invites SET used_by = $2, used_at = now() WHERE code = $1 AND used_by IS NULL RETURNING code
