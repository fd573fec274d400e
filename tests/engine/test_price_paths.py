"""The engine driven as the settlement actor will drive it: an index, a ledger and an expiry queue,
orders accepted, then a scripted price path tick by tick (injected instants, real calendars)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import msgspec

from daemon.engine.costs import KR_BROKER_2026
from daemon.engine.decide import Account, Decision, Position, decide
from daemon.engine.expiry_queue import ExpiryQueue
from daemon.engine.market import MarketSnapshot, QuoteView, Session
from daemon.engine.orders import EngineOrder
from daemon.engine.reservations import ReservationLedger, ReserveParams, cash_needed, reservation_of
from daemon.engine.resting_index import RestingIndex
from daemon.engine.ticks import KRX_STOCK_2023, US_STOCK, TickTable
from daemon.engine.time_in_force import expires_at
from daemon.engine.triggers import placement
from daemon.engine.wake import as_marked, wake
from daemon.market_hours import MarketHours

HOURS = MarketHours()
USER = uuid.UUID(int=7)


class Desk:
    """A minimal single-user settlement loop over the pure engine."""

    def __init__(self, cash: str, held: str, market: str) -> None:
        self.index = RestingIndex()
        self.ledger = ReservationLedger()
        self.expiries = ExpiryQueue()
        self.orders: dict[uuid.UUID, EngineOrder] = {}
        self.ended: dict[uuid.UUID, EngineOrder] = {}
        self.cash = D(cash)
        self.position = Position(D(held), D(100))
        self.market = market
        self.first_quote_of: dict[datetime, bool] = {}

    def snapshot(self, at: datetime, q: QuoteView | None, fx: D | None = None) -> MarketSnapshot:
        session = HOURS.session(self.market, at)
        first = False
        if session is not None and q is not None and session[0] not in self.first_quote_of:
            self.first_quote_of[session[0]] = first = True
        return MarketSnapshot(
            now=at,
            session=Session(
                is_open=session is not None,
                first_quote=first,
                opened_at=None if session is None else session[0],
                next_open=HOURS.next_open(self.market, at),
            ),
            quote=q,
            fx_rate=fx,
        )

    def account(self) -> Account:
        return Account(
            cash_krw=self.cash,
            available_cash_krw=self.ledger.available_cash(USER, self.cash),
            position=self.position,
        )

    def accept(self, o: EngineOrder, m: MarketSnapshot) -> Decision:
        o = msgspec.structs.replace(
            o, expires_at=expires_at(self.market, o.time_in_force, o.created_at, HOURS)
        )
        reference = m.quote.touch(o.side) if m.quote else (o.limit_price or o.stop_price or D(0))
        o = msgspec.structs.replace(
            o,
            reserved_krw=cash_needed(
                o,
                reference_price=reference,
                fx_rate=m.fx_rate,
                costs=KR_BROKER_2026,
                on=o.created_at.date(),
                params=ReserveParams(),
            ),
        )
        self.ledger.reserve(
            o, reservation_of(o), cash_krw=self.cash, held_quantity=self.position.quantity
        )
        return self.apply(decide(o, m, self.account(), costs=KR_BROKER_2026))

    def apply(self, d: Decision) -> Decision:
        o = d.order
        self.cash += d.cash_delta
        self.position = d.position
        if o.is_open:
            self.orders[o.id] = o
            self.ledger.reserve(
                o, reservation_of(o), cash_krw=self.cash, held_quantity=self.position.quantity
            )
            if o.id in self.index:
                self.index.modify(o.id, o.ticker_id, *placement(o))
            else:
                self.index.add(o.id, o.ticker_id, *placement(o))
            self.expiries.set(o.id, o.expires_at)
        else:
            self.orders.pop(o.id, None)
            self.ended[o.id] = o
            self.ledger.release(o.id)
            self.index.remove(o.id)
            self.expiries.remove(o.id)
        return d

    def tick(self, at: datetime, q: QuoteView, ticker: str, fx: D | None = None) -> None:
        for order_id in self.expiries.pop_due(at):
            self.apply(
                decide(
                    self.orders[order_id],
                    self.snapshot(at, None),
                    self.account(),
                    costs=KR_BROKER_2026,
                )
            )
        m = self.snapshot(at, q, fx)
        for order_id in wake(self.index, ticker, q, trails=m.session.regular, table=self.table):
            if order_id in self.orders:
                self.apply(decide(self.order(order_id), m, self.account(), costs=KR_BROKER_2026))

    @property
    def table(self) -> TickTable:
        return KRX_STOCK_2023 if self.market == "KRX" else US_STOCK

    def order(self, order_id: uuid.UUID) -> EngineOrder:
        """An open order with the trailing mark the index has moved it to."""
        return as_marked(self.orders[order_id], self.index, self.table)


def quote(last: str, bid: str, ask: str, at: datetime) -> QuoteView:
    return QuoteView(price=D(last), bid=D(bid), ask=D(ask), source="path", ts=at, received_at=at)


def new(ticker: str, at: datetime, **fields: object) -> EngineOrder:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": USER,
        "ticker_id": ticker,
        "side": "BUY",
        "type": "LIMIT",
        "time_in_force": "DAY",
        "currency": "USD" if ticker.startswith("US") else "KRW",
        "created_at": at,
        "quantity": D(1),
    }
    base.update(fields)
    return EngineOrder(**base)  # type: ignore[arg-type]


def test_krx_path_with_limits_stops_and_a_trailing_stop() -> None:
    t = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # Tuesday 10:30 KST
    desk = Desk("10000000", "100", "KRX")
    ticker = "KRX-STOCK-005930"
    m = desk.snapshot(t, quote("70000", "69900", "70000", t))
    buy = desk.accept(new(ticker, t, limit_price=D(69500), quantity=D(10)), m).order
    stop = desk.accept(
        new(ticker, t, side="SELL", type="STOP", stop_price=D(68000), quantity=D(5)), m
    ).order
    trail = desk.accept(
        new(
            ticker,
            t,
            side="SELL",
            type="TRAILING_STOP",
            trail_percent=D(2),
            quantity=D(5),
            time_in_force="GTC",
        ),
        m,
    ).order
    assert trail.stop_price == D(68600)  # 70,000 × 0.98
    reserved = desk.ledger.reserved_cash(USER)
    assert reserved == buy.reserved_krw == D("695104.25000000")
    path = ["70500", "71000", "69600", "69500", "69000", "68000"]
    for i, last in enumerate(path):
        at = t + timedelta(minutes=i + 1)
        desk.tick(at, quote(last, str(D(last) - 100), last, at), ticker)
        if last == "71000":
            # 71,000 × 0.98 = 69,580 → down to the 100 tick: 69,500.
            assert desk.order(trail.id).stop_price == D(69500)
    assert desk.ended[buy.id].status == "FILLED"
    assert desk.ended[buy.id].average_price == D(69500)  # at its limit, when the ask reached it
    assert desk.ended[trail.id].status == "FILLED"
    assert desk.ended[trail.id].average_price == D(69500)  # the 69,600 tick's bid reached 69,500
    assert desk.ended[stop.id].average_price == D(67900)
    assert desk.orders == {}
    assert desk.ledger.reserved_cash(USER) == 0
    assert desk.ledger.reserved_quantity(USER, ticker) == 0
    assert len(desk.index) == 0


def test_us_day_limit_placed_before_thanksgiving_expires_at_the_early_close() -> None:
    placed = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # after Wednesday's close
    desk = Desk("10000000", "0", "US")
    ticker = "US-STOCK-AAPL"
    fx = D(1400)
    d = desk.accept(new(ticker, placed, limit_price=D("150.00")), desk.snapshot(placed, None, fx))
    order = d.order
    assert order.status == "PENDING"
    assert order.expires_at == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # Friday 13:00 New York
    assert desk.ledger.reserved_cash(USER) == D("214735.50000000")  # 150 × 1,400 × 1.02 + 0.25 %
    # Thanksgiving: closed all day, ticks change nothing.
    thursday = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    desk.tick(thursday, quote("149", "148.99", "149.01", thursday), ticker, fx)
    assert order.id in desk.orders
    # Friday's session: the price stays above the limit until the early close.
    for minute in (0, 60, 208):  # the last at 17:59
        at = datetime(2026, 11, 27, 14, 31, tzinfo=UTC) + timedelta(minutes=minute)
        desk.tick(at, quote("151", "150.99", "151.01", at), ticker, fx)
    assert order.id in desk.orders
    close = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    desk.tick(close, quote("140", "139.99", "140.01", close), ticker, fx)
    ended = desk.ended[order.id]
    assert (ended.status, ended.reason) == ("CANCELLED", "expired")
    assert desk.ledger.reserved_cash(USER) == 0


def test_krx_limit_placed_on_a_holiday_fills_at_the_open_gap() -> None:
    placed = datetime(2026, 12, 31, 3, 0, tzinfo=UTC)  # the year-end holiday
    desk = Desk("10000000", "0", "KRX")
    ticker = "KRX-STOCK-005930"
    order = desk.accept(
        new(ticker, placed, limit_price=D(70000)), desk.snapshot(placed, None)
    ).order
    assert order.expires_at == datetime(2027, 1, 4, 6, 30, tzinfo=UTC)
    opened = datetime(2027, 1, 4, 1, 0, 1, tzinfo=UTC)
    desk.tick(opened, quote("68000", "67900", "68000", opened), ticker)
    ended = desk.ended[order.id]
    assert ended.average_price == D(68000)  # opened through the limit: the first quote
    assert desk.cash == D(10000000) - D(68000) - D("10.2")
