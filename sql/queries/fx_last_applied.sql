-- The most recent USD/KRW rate a trade used: a fallback for valuation before any FX quote.
SELECT applied_exchange_rate FROM orders
WHERE currency = 'USD' AND status = 'FILLED'
ORDER BY filled_at DESC
LIMIT 1
