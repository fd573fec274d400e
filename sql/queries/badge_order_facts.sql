-- Per player (all of them if $1 is NULL, else those of $1): filled orders, markets traded, and the
-- longest run of consecutive KST days with a fill (gaps and islands over the distinct days).
WITH fills AS (
    SELECT user_id, split_part(ticker_id, '-', 1) AS market,
           (filled_at AT TIME ZONE 'Asia/Seoul')::date AS day
    FROM orders
    WHERE status = 'FILLED' AND ($1::uuid[] IS NULL OR user_id = ANY ($1::uuid[]))
), days AS (
    SELECT DISTINCT user_id, day FROM fills
), islands AS (
    SELECT user_id, count(*) AS run
    FROM (SELECT user_id, day, day - (row_number() OVER (PARTITION BY user_id ORDER BY day))::int AS island
          FROM days) AS d
    GROUP BY user_id, island
)
SELECT f.user_id, count(*) AS trades, count(DISTINCT f.market) AS markets,
       (SELECT max(run) FROM islands AS i WHERE i.user_id = f.user_id) AS streak
FROM fills AS f
GROUP BY f.user_id
