-- The settlement partition that owns a user, as daemon/actors/settlement.py:partition_of
-- computes it (the user id as a 128-bit unsigned integer, modulo the partitions), so that each
-- partition's start-up reads only its own open orders instead of every partition reading all.
CREATE FUNCTION user_partition(user_id uuid, partitions integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
    SELECT ((('x00000000' || substr(h, 1, 8))::bit(64)::bigint::numeric * 2::numeric ^ 96
             + ('x00000000' || substr(h, 9, 8))::bit(64)::bigint::numeric * 2::numeric ^ 64
             + ('x00000000' || substr(h, 17, 8))::bit(64)::bigint::numeric * 2::numeric ^ 32
             + ('x00000000' || substr(h, 25, 8))::bit(64)::bigint::numeric) % partitions)::integer
    FROM (SELECT replace(user_id::text, '-', '') AS h) AS hex
$fn$;
