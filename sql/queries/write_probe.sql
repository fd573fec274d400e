-- One committed write: fails if the database is read-only, out of disk or refusing writes.
INSERT INTO write_probe (name, written_at) VALUES ($1, now())
ON CONFLICT (name) DO UPDATE SET written_at = excluded.written_at
