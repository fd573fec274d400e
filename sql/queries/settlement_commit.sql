-- One settlement batch, written whole by the function of sql/0010_settlement_commit.sql.
SELECT settlement_commit($1::jsonb, $2)
