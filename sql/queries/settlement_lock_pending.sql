-- Lock the orders of a batch that are still PENDING; any missing was settled elsewhere.
SELECT id FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING' FOR UPDATE
