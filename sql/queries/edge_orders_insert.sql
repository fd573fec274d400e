-- Remember an accepted order (a retry of a known one changes nothing).
INSERT OR IGNORE INTO edge_orders (id, body, stored_at) VALUES ($1, $2, $3)
