INSERT INTO cash_ledger (user_id, order_id, kind, amount_krw, created_at)
SELECT v.user_id, v.order_id, v.kind, v.amount_krw, $5
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[]) AS v(user_id, order_id, kind, amount_krw)
