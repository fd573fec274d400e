-- The order the edge accepted under this id, if it still keeps it.
SELECT body FROM edge_orders WHERE id = $1
