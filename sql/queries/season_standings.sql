-- The frozen standings of season $1, best first.
SELECT user_id, rank, nickname, equity_krw, return_pct, max_drawdown_pct, volatility_pct,
       sharpe, trades
FROM season_standings WHERE season_id = $1 ORDER BY rank
