-- The edge's idempotency record (SQLite, in its data folder): orders with a client_order_id
-- that RabbitMQ confirmed, kept for a while so that a retry gets the same answer.
CREATE TABLE IF NOT EXISTS edge_orders (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS edge_orders_stored_at ON edge_orders (stored_at)
