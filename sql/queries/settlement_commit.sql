-- One settlement batch, written whole by the function of sql/0011_settlement_hot_path.sql.
SELECT settlement_commit($1::jsonb, $2)
