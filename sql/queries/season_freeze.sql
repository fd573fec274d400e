-- Season $1 ends at $2 with these standings (arrays in rank order), frozen for good.
WITH ended AS (
    UPDATE seasons SET status = 'ended', ended_at = $2 WHERE id = $1 AND status = 'running'
    RETURNING id
)
INSERT INTO season_standings (season_id, user_id, rank, nickname, equity_krw, return_pct,
                              max_drawdown_pct, volatility_pct, sharpe, trades)
SELECT ended.id, v.user_id, v.rank, v.nickname, v.equity_krw, v.return_pct, v.max_drawdown_pct,
       v.volatility_pct, v.sharpe, v.trades
FROM ended, unnest($3::uuid[], $4::int[], $5::text[], $6::numeric[], $7::numeric[],
                   $8::numeric[], $9::numeric[], $10::numeric[], $11::int[])
     AS v(user_id, rank, nickname, equity_krw, return_pct, max_drawdown_pct, volatility_pct,
          sharpe, trades)
