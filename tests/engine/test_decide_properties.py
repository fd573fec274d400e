"""decide() invariants on random orders, quotes and books (hypothesis)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.engine.decide import Account, Position
from daemon.engine.market import BookLevel, BookView
from daemon.engine.time_in_force import resolve_time_in_force
from tests.engine.scenario import market, order, quote, run

ticks = st.integers(min_value=90, max_value=110).map(lambda n: D(n) * 100)
sizes = st.integers(min_value=1, max_value=30).map(D)
levels = st.lists(st.tuples(ticks, sizes), max_size=5)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple:
    side = draw(st.sampled_from(["BUY", "SELL"]))
    kind = draw(st.sampled_from(["MARKET", "LIMIT", "STOP", "STOP_LIMIT"]))
    asked = draw(st.sampled_from(["DAY", "GTC", "IOC", "FOK"]))
    tif = asked if kind in ("MARKET", "LIMIT") else resolve_time_in_force("KRX", kind, None)
    fields: dict[str, object] = {
        "side": side,
        "type": kind,
        "time_in_force": tif,
        "quantity": draw(sizes),
    }
    if kind in ("LIMIT", "STOP_LIMIT"):
        fields["limit_price"] = draw(ticks)
    if kind in ("STOP", "STOP_LIMIT"):
        fields["stop_price"] = draw(ticks)
    if kind == "MARKET" and side == "BUY" and draw(st.booleans()):
        fields["quantity"] = None
        fields["amount_krw"] = D(draw(st.integers(min_value=1000, max_value=400_000)))
    bid, ask = sorted([draw(ticks), draw(ticks)])
    last = draw(ticks)
    shown = None
    if draw(st.booleans()):
        bids = sorted({p: s for p, s in draw(levels) if p <= bid}.items(), reverse=True)
        asks = sorted({p: s for p, s in draw(levels) if p >= ask}.items())
        shown = BookView(
            bids=tuple(BookLevel(p, s) for p, s in bids),
            asks=tuple(BookLevel(p, s) for p, s in asks),
        )
    cash = D(draw(st.integers(min_value=0, max_value=5_000_000)))
    held = D(draw(st.integers(min_value=0, max_value=40)))
    return order(**fields), quote(str(last), str(bid), str(ask)), shown, cash, held


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_decisions_keep_the_money_rules(case: tuple) -> None:
    o, q, shown, cash, held = case
    account = Account(cash_krw=cash, available_cash_krw=cash, position=Position(held, D(10000)))
    d = run(o, market(q, book=shown), account)
    filled = sum((f.quantity for f in d.fills), D(0))
    assert d.order.filled_quantity == filled
    if o.quantity is not None:
        assert filled <= o.quantity
    if o.time_in_force == "FOK" and o.quantity is not None:
        assert d.fills == () or filled == o.quantity
    if o.time_in_force in ("IOC", "FOK") or o.type == "MARKET":
        assert not d.order.is_open  # decided now, never resting
    for fill in d.fills:
        assert fill.fee_krw == sum((line.amount_krw for line in fill.fees), D(0))
        if o.side == "BUY":
            assert fill.cash_delta == -(fill.total_krw + fill.fee_krw)
            assert -fill.cash_delta <= cash  # never spends more than is available
        else:
            assert fill.cash_delta == fill.total_krw - fill.fee_krw
            assert fill.quantity <= held
        if o.limit_price is not None:
            assert fill.price <= o.limit_price if o.side == "BUY" else fill.price >= o.limit_price
        if o.amount_krw is not None:
            assert -fill.cash_delta <= o.amount_krw
        for level in fill.levels:
            assert shown is not None
            assert (
                level.size <= {lvl.price: lvl.size for lvl in shown.side_for(o.side)}[level.price]
            )
    if d.fills:
        expected = held + filled if o.side == "BUY" else held - filled
        assert d.position.quantity == expected
    assert d.order.status in ("PENDING", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "FAILED")
    assert (d.order.status == "FILLED") == (
        d.fills != () and not d.order.is_open and d.order.reason is None
    )
