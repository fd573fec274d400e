-- Player $1's frozen results in ended seasons, the latest first.
SELECT s.id AS season_id, s.name, st.rank, st.return_pct, st.equity_krw,
       (SELECT count(*) FROM season_standings AS c WHERE c.season_id = s.id) AS players
FROM season_standings AS st JOIN seasons AS s ON s.id = st.season_id
WHERE st.user_id = $1
ORDER BY s.ends_at DESC
