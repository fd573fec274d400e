"""Builders for engine tests: orders, quotes, sessions and accounts at injected instants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import msgspec

from daemon.engine.costs import KR_BROKER_2026, CostPreset
from daemon.engine.decide import Account, Decision, Position, decide
from daemon.engine.market import BookLevel, BookView, MarketSnapshot, QuoteView, Session
from daemon.engine.orders import EngineOrder

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, KRX open (11:00 KST)
USER = uuid.UUID(int=1)
OPEN = Session(is_open=True, opened_at=T0 - timedelta(hours=2))
CLOSED = Session(is_open=False, next_open=T0 + timedelta(hours=23))
RICH = Account(
    cash_krw=D(100_000_000), available_cash_krw=D(100_000_000), position=Position(D(1000), D(9000))
)


def order(**fields: object) -> EngineOrder:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": USER,
        "ticker_id": "KRX-STOCK-005930",
        "side": "BUY",
        "type": "MARKET",
        "time_in_force": "DAY",
        "currency": "KRW",
        "created_at": T0,
        "quantity": D(10),
    }
    base.update(fields)
    return EngineOrder(**base)  # type: ignore[arg-type]


def quote(
    last: str, bid: str | None = None, ask: str | None = None, at: datetime = T0
) -> QuoteView:
    return QuoteView(
        price=D(last),
        bid=None if bid is None else D(bid),
        ask=None if ask is None else D(ask),
        source="test",
        ts=at,
        received_at=at,
    )


def book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> BookView:
    return BookView(
        bids=tuple(BookLevel(D(p), D(s)) for p, s in bids),
        asks=tuple(BookLevel(D(p), D(s)) for p, s in asks),
    )


def market(
    q: QuoteView | None, session: Session = OPEN, at: datetime = T0, **fields: object
) -> MarketSnapshot:
    return MarketSnapshot(now=at, session=session, quote=q, **fields)  # type: ignore[arg-type]


def run(
    o: EngineOrder, m: MarketSnapshot, account: Account = RICH, costs: CostPreset = KR_BROKER_2026
) -> Decision:
    return decide(o, m, account, costs=costs)


def later(o: EngineOrder, **fields: object) -> EngineOrder:
    return msgspec.structs.replace(o, **fields)
