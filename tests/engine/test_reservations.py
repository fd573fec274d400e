"""Reservations: worst-case amounts, and the ledger as a property test over any sequence of
place / modify / cancel / fill / expire."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal as D

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from daemon.engine.costs import KR_BROKER_2026
from daemon.engine.decide import Account, Position
from daemon.engine.reservations import (
    OverCommitted,
    Reservation,
    ReservationLedger,
    ReserveParams,
    cash_needed,
    reservation_of,
)
from tests.engine.scenario import USER, book, market, order, quote, run

ON = date(2026, 12, 1)
PARAMS = ReserveParams()


def need(o, reference: str = "10000", fx: str | None = None) -> D:
    return cash_needed(
        o,
        reference_price=D(reference),
        fx_rate=None if fx is None else D(fx),
        costs=KR_BROKER_2026,
        on=ON,
        params=PARAMS,
    )


def test_worst_case_amounts_per_type() -> None:
    # LIMIT: limit × quantity + commission (0.015 %).
    assert need(order(type="LIMIT", limit_price=D(9900))) == D("99014.85000000")
    # MARKET: the reference (ask) plus 5 % slippage.
    assert need(order()) == D("105015.75000000")
    # STOP: the stop plus slippage; STOP_LIMIT: the limit.
    assert need(order(type="STOP", stop_price=D(11000))) == D("115517.32500000")
    assert need(order(type="STOP_LIMIT", stop_price=D(11000), limit_price=D(11100))) == D(
        "111016.65000000"
    )
    # amount_krw: exactly the amount (fees included by definition).
    assert need(order(quantity=None, amount_krw=D(50000))) == D(50000)
    # USD: × rate × 1.02, then the 0.25 % commission.
    usd = order(
        ticker_id="US-STOCK-AAPL", currency="USD", type="LIMIT", limit_price=D("200"), quantity=D(1)
    )
    assert need(usd, fx="1400") == D("286314.00000000")  # 200 × 1,428 = 285,600 + 714
    with pytest.raises(ValueError, match="USD/KRW"):
        need(usd)
    # SELL reserves no cash but its remaining quantity.
    sell = order(side="SELL", quantity=D(7), filled_quantity=D(2))
    assert need(sell) == 0
    assert reservation_of(sell) == Reservation(quantity=D(5))


def test_over_commit_fails_and_changes_nothing() -> None:
    ledger = ReservationLedger()
    first = order(type="LIMIT", limit_price=D(9900))
    ledger.reserve(first, Reservation(cash_krw=D(60000)), cash_krw=D(100000), held_quantity=D(0))
    second = order(type="LIMIT", limit_price=D(9900))
    with pytest.raises(OverCommitted) as caught:
        ledger.reserve(
            second,
            Reservation(cash_krw=D("40000.00000001")),
            cash_krw=D(100000),
            held_quantity=D(0),
        )
    assert caught.value.reason == "insufficient_cash"
    assert ledger.reserved_cash(USER) == D(60000)
    seller = order(side="SELL")
    ledger.reserve(seller, Reservation(quantity=D(3)), cash_krw=D(0), held_quantity=D(3))
    with pytest.raises(OverCommitted, match="0 is available to sell") as caught:
        ledger.reserve(
            order(side="SELL"), Reservation(quantity=D(1)), cash_krw=D(0), held_quantity=D(3)
        )
    assert caught.value.reason == "insufficient_quantity"
    # Growing one's own reservation counts what it already holds.
    ledger.reserve(first, Reservation(cash_krw=D(100000)), cash_krw=D(100000), held_quantity=D(0))
    assert ledger.available_cash(USER, D(100000)) == 0


prices = st.integers(min_value=50, max_value=200).map(lambda n: D(n) * 100)  # on the 100 tick
quantities = st.integers(min_value=1, max_value=20).map(D)
place = st.tuples(
    st.just("place"),
    st.sampled_from(["BUY", "SELL"]),
    prices,
    quantities,
    st.sampled_from(["LIMIT", "STOP"]),
)
steps = st.lists(
    st.one_of(
        place,
        place,
        st.tuples(st.just("modify"), st.integers(0, 30), prices, quantities),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("expire"), st.integers(0, 30)),
        st.tuples(st.just("fill"), st.integers(0, 30), st.integers(1, 25).map(D)),
    ),
    min_size=4,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(min_value=0, max_value=3_000_000).map(D), st.integers(0, 40).map(D))
def test_ledger_matches_open_orders_and_available_never_negative(
    ops: list, start_cash: D, held: D
) -> None:
    ledger = ReservationLedger()
    cash = start_cash
    position = Position(held, D(9000))
    orders: dict[uuid.UUID, object] = {}
    placed: list[uuid.UUID] = []

    def needed(o) -> Reservation:
        if o.side == "SELL":
            return reservation_of(o)
        return Reservation(cash_krw=need(o, reference=str(o.stop_price or o.limit_price)))

    for op in ops:
        match op:
            case ("place", side, price, qty, kind):
                fields = {"limit_price": price} if kind == "LIMIT" else {"stop_price": price}
                o = order(side=side, type=kind, quantity=qty, **fields)
                o = msgspec.structs.replace(o, reserved_krw=needed(o).cash_krw)
                try:
                    ledger.reserve(
                        o, reservation_of(o), cash_krw=cash, held_quantity=position.quantity
                    )
                except OverCommitted:
                    continue
                orders[o.id] = o
                placed.append(o.id)
            case ("modify", which, price, qty) if placed:
                o = orders.get(placed[which % len(placed)])
                if o is None or qty <= o.filled_quantity:
                    continue
                field = "limit_price" if o.type == "LIMIT" else "stop_price"
                changed = msgspec.structs.replace(o, quantity=qty, **{field: price})
                changed = msgspec.structs.replace(changed, reserved_krw=needed(changed).cash_krw)
                try:
                    ledger.reserve(
                        changed,
                        reservation_of(changed),
                        cash_krw=cash,
                        held_quantity=position.quantity,
                    )
                except OverCommitted:
                    continue
                orders[o.id] = changed
            case ("cancel" | "expire", which) if placed:
                released = ledger.release(placed[which % len(placed)])
                o = orders.pop(placed[which % len(placed)], None)
                assert released == (reservation_of(o) if o is not None else Reservation())
            case ("fill", which, size) if placed:
                o = orders.get(placed[which % len(placed)])
                if o is None:
                    continue
                price = o.limit_price or o.stop_price
                shown = book([(str(price), str(size))], [(str(price), str(size))])
                account = Account(
                    cash_krw=cash,
                    available_cash_krw=ledger.available_cash(USER, cash),
                    position=position,
                )
                live = msgspec.structs.replace(o, type="LIMIT", limit_price=price, stop_price=None)
                d = run(
                    live, market(quote(str(price), str(price), str(price)), book=shown), account
                )
                event(f"fill {d.order.status}")
                cash += d.cash_delta
                position = d.position
                if d.order.is_open:
                    kept = msgspec.structs.replace(
                        o,
                        filled_quantity=d.order.filled_quantity,
                        reserved_krw=d.order.reserved_krw,
                    )
                    ledger.reserve(
                        kept, reservation_of(kept), cash_krw=cash, held_quantity=position.quantity
                    )
                    orders[o.id] = kept
                else:
                    ledger.release(o.id)
                    del orders[o.id]
            case _:
                continue
        assert ledger.available_cash(USER, cash) >= 0
        assert ledger.available_quantity(USER, "KRX-STOCK-005930", position.quantity) >= 0
        open_orders = list(orders.values())
        assert ledger.reserved_cash(USER) == sum(
            (reservation_of(o).cash_krw for o in open_orders), D(0)
        )
        assert ledger.reserved_quantity(USER, "KRX-STOCK-005930") == sum(
            (reservation_of(o).quantity for o in open_orders), D(0)
        )
        rebuilt = ReservationLedger.rebuild(open_orders)
        assert rebuilt.reserved_cash(USER) == ledger.reserved_cash(USER)
        assert rebuilt.reserved_quantity(USER, "KRX-STOCK-005930") == ledger.reserved_quantity(
            USER, "KRX-STOCK-005930"
        )
