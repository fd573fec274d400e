"""The matching engine's pure core (SPEC 6A): order model v2, exchange rules, costs, triggers,
the resting-order index, time in force, reservations and decide(). No I/O, no clocks, no logs.

How the settlement actor drives it (phase 2; docs/engine.md has the full plan):
- accept: orders.check_shape + time_in_force.resolve_time_in_force + exchange_rules checks (in
  the shared validator), expires_at(...) on the order, reservations.cash_needed → ledger.reserve
  (OverCommitted → FAILED insufficient_cash / insufficient_quantity), then decide(); if the
  decision leaves it open: index.add(id, ticker, *triggers.placement(order)), expiries.set(...).
- tick of a ticker: wake.wake(index, ticker, quote, trails=, table=) moves trailing marks (per
  group of orders sharing a mark: trail_book.py) and returns the crossed ids;
  decide(wake.as_marked(order, index, table)) each; apply each Decision in one transaction
  (fills → order_fills, events → order_events, wallet, position), then ledger.reserve/release
  and index.modify/remove. No periodic scan.
- cancel / modify: ledger.release or re-reserve with cash_needed; index.remove / modify.
- expiry: expiries.pop_due(now) → decide() ends them CANCELLED expired.
- restart: load open orders → ReservationLedger.rebuild(orders), index.add for each, same path
  as a cold start.
"""
