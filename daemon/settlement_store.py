"""Settlement's SQL: load its users' cash and positions, and write one batch in one transaction.

A batch is what `decide()` v2 and the actor's own commands (accept, modify, cancel) changed:
order rows, their `order_fills` receipts and `order_events` history, wallets, positions and one
cash ledger row per fill. Writes are compare-and-set against what the actor believed (balance,
quantity, the order open with the filled quantity it knew), so a stale belief aborts the batch
(StaleState) instead of corrupting anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from daemon.engine.costs import FeeLine
from daemon.engine.decide import EngineEvent, EngineFill, Position
from daemon.engine.market import BookLevel
from daemon.messages import Order
from daemon.season_rules import SeasonRules
from daemon.seasons import season_rules_of
from daemon.sqlfiles import query

ZERO = Decimal(0)
_encoder = msgspec.json.Encoder()
_fees = msgspec.json.Decoder(tuple[FeeLine, ...])


def order_from_row(row: asyncpg.Record) -> Order:
    """An order as read by the orders_* queries (fees as JSON text; totals NULL before a fill)."""
    fields = dict(row)
    fields["fees"] = _fees.decode(fields["fees"])
    fields["total_krw"] = fields["total_krw"] or ZERO
    fields["fee_krw"] = fields["fee_krw"] or ZERO
    return Order(**fields)


def encode_json(value: Any) -> str:
    return _encoder.encode(value).decode()


class StaleState(Exception):
    """The database is not what settlement believed; reload and recompute."""

    def __init__(self, what: str, not_pending: frozenset[UUID] = frozenset()) -> None:
        super().__init__(what)
        self.not_pending = not_pending


class UserState(msgspec.Struct):
    """One user's cash and positions as settlement believes them (actor-private, mutable)."""

    cash: Decimal
    positions: dict[str, Position]
    season: SeasonRules | None = None  # the running season this user plays in; None: free play

    def copy(self) -> UserState:
        return UserState(self.cash, dict(self.positions), self.season)


class RecordedEvent(msgspec.Struct, frozen=True):
    """An order event as written: `detail` is the modification's old and new values, or None."""

    order_id: UUID
    event: EngineEvent
    detail: dict[str, dict[str, str | None]] | None = None


class Batch(msgspec.Struct):
    """Everything one settlement transaction writes."""

    # order id -> (the filled quantity settlement believed the row has, the order after)
    orders: dict[UUID, tuple[Decimal, Order]] = msgspec.field(default_factory=dict)
    fills: list[tuple[Order, EngineFill]] = msgspec.field(default_factory=list)
    events: list[RecordedEvent] = msgspec.field(default_factory=list)
    wallets: dict[UUID, tuple[Decimal, Decimal]] = msgspec.field(default_factory=dict)
    positions: dict[tuple[UUID, str], tuple[Position | None, Position, str]] = msgspec.field(
        default_factory=dict
    )

    def __bool__(self) -> bool:
        return bool(self.orders)

    def record(self, before: Order, after: Order) -> None:
        """Write `after` over a row that settlement believes is `before` (first change wins the
        compare-and-set value when an order changes twice in one batch)."""
        believed = self.orders.get(after.id, (before.filled_quantity, before))[0]
        self.orders[after.id] = (believed, after)


async def load_users(conn: asyncpg.Connection, user_ids: Iterable[UUID]) -> dict[UUID, UserState]:
    ids = list(user_ids)
    users = {
        row["user_id"]: UserState(row["balance_krw"], {})
        for row in await conn.fetch(query("settlement_wallets"), ids)
    }
    for row in await conn.fetch(query("settlement_positions"), ids):
        users[row["user_id"]].positions[row["ticker_id"]] = Position(
            row["quantity"], row["average_price"]
        )
    for row in await conn.fetch(query("settlement_seasons"), ids):
        if row["user_id"] in users:
            users[row["user_id"]].season = season_rules_of(row)
    return users


class _OrderRow(msgspec.Struct, array_like=True):
    id: UUID
    old_filled_quantity: Decimal
    status: str
    filled_quantity: Decimal
    average_price: Decimal | None
    rate: Decimal | None
    total_krw: Decimal | None
    fee_krw: Decimal | None
    fees: tuple[FeeLine, ...]
    reserved_krw: Decimal
    trail_mark: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal | None
    limit_price: Decimal | None
    trail_percent: Decimal | None
    trail_amount: Decimal | None
    triggered_at: datetime | None
    expires_at: datetime | None
    resting_since: datetime | None
    reason: str | None
    filled_at: datetime | None


class _WalletRow(msgspec.Struct, array_like=True):
    user_id: UUID
    old_balance: Decimal
    new_balance: Decimal


class _PositionUpdate(msgspec.Struct, array_like=True):
    user_id: UUID
    ticker_id: str
    old_quantity: Decimal
    quantity: Decimal
    average_price: Decimal


class _PositionInsert(msgspec.Struct, array_like=True):
    user_id: UUID
    ticker_id: str
    quantity: Decimal
    average_price: Decimal
    currency: str


class _FillRow(msgspec.Struct, array_like=True):
    order_id: UUID
    n: int  # 1, 2, ... for this order within the batch: seq continues the order's own
    side: str
    cash_delta: Decimal
    quantity: Decimal
    price: Decimal
    rate: Decimal
    total_krw: Decimal
    fee_krw: Decimal
    fees: tuple[FeeLine, ...]
    rule: str
    levels: tuple[BookLevel, ...]
    quote_price: Decimal
    quote_bid: Decimal | None
    quote_ask: Decimal | None
    quote_source: str
    quote_ts: datetime
    quote_received_at: datetime
    quote_age_seconds: Decimal
    decided_at: datetime


class _EventRow(msgspec.Struct, array_like=True):
    order_id: UUID
    n: int
    kind: str
    at: datetime
    reason: str | None
    detail: dict[str, dict[str, str | None]] | None


class _Payload(msgspec.Struct):
    """The JSON `settlement_commit` (sql/0016_settlement_commit_lean.sql) reads: each row an
    array of its struct's fields in their order, which is the order the function reads them in
    (tests/test_settlement_store.py holds the two to each other)."""

    orders: list[_OrderRow]
    wallets: list[_WalletRow]
    position_updates: list[_PositionUpdate]
    position_inserts: list[_PositionInsert]
    fills: list[_FillRow]
    events: list[_EventRow]


_STALE_HINT = "settlement_stale"
_not_open_ids = msgspec.json.Decoder(list[UUID])


async def commit(conn: asyncpg.Connection, batch: Batch, now: datetime) -> None:
    """Write `batch` atomically in one round trip, or raise StaleState having written nothing."""
    try:
        await conn.execute(query("settlement_commit"), encode_json(_payload(batch)), now)
    except asyncpg.RaiseError as exc:
        if exc.hint != _STALE_HINT:
            raise
        raise StaleState(exc.message, frozenset(_not_open_ids.decode(exc.detail))) from None


async def write_marks(conn: asyncpg.Connection, rows: list[tuple[UUID, Decimal, Decimal]]) -> None:
    """Write trailing stops' (id, mark, stop) that ticks moved since their rows were written.

    Without waiting for the WAL to reach the disk (synchronous_commit off, this transaction
    only): marks are written behind anyway, and a crash of PostgreSQL loses at most its last
    fraction of a second of them, never a fill (a settlement commit after them flushes them with
    its own). In bench.resting, a third of the WAL waits sampled (WALSync, WALWrite) were
    these writes'."""
    if rows:
        ids, marks, stops = (list(column) for column in zip(*rows, strict=True))
        async with conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit TO OFF")
            await conn.execute(query("orders_trail_marks"), ids, marks, stops)


def _payload(batch: Batch) -> _Payload:
    return _Payload(
        orders=[_order_row(believed, order) for believed, order in batch.orders.values()],
        wallets=[_WalletRow(user_id, old, new) for user_id, (old, new) in batch.wallets.items()],
        position_updates=[
            _PositionUpdate(user_id, ticker, old.quantity, new.quantity, new.average_price)
            for (user_id, ticker), (old, new, _) in batch.positions.items()
            if old is not None
        ],
        position_inserts=[
            _PositionInsert(user_id, ticker, new.quantity, new.average_price, currency)
            for (user_id, ticker), (old, new, currency) in batch.positions.items()
            if old is None
        ],
        fills=[
            _fill_row(order, fill, n)
            for (order, fill), n in zip(
                batch.fills, _ordinals([o.id for o, _ in batch.fills]), strict=True
            )
        ],
        events=[
            _EventRow(e.order_id, n, e.event.kind, e.event.at, e.event.reason, e.detail)
            for e, n in zip(
                batch.events, _ordinals([e.order_id for e in batch.events]), strict=True
            )
        ],
    )


def _order_row(believed: Decimal, order: Order) -> _OrderRow:
    # Totals are NULL until a first fill.
    total, fee = (None, None) if order.filled_quantity == 0 else (order.total_krw, order.fee_krw)
    return _OrderRow(
        order.id, believed, order.status, order.filled_quantity, order.average_price,
        order.applied_exchange_rate, total, fee, order.fees, order.reserved_krw,
        order.trail_mark, order.stop_price, order.quantity, order.limit_price,
        order.trail_percent, order.trail_amount, order.triggered_at, order.expires_at,
        order.resting_since, order.reason, order.filled_at,
    )  # fmt: skip


def _fill_row(order: Order, fill: EngineFill, n: int) -> _FillRow:
    quote = fill.quote
    return _FillRow(
        order.id, n, order.side, fill.cash_delta, fill.quantity, fill.price,
        fill.rate, fill.total_krw, fill.fee_krw, fill.fees, fill.rule, fill.levels,
        quote.price, quote.bid, quote.ask, quote.source, quote.ts, quote.received_at,
        quote.age_seconds, fill.at,
    )  # fmt: skip


def _ordinals(ids: list[UUID]) -> list[int]:
    """1, 2, ... per order id in `ids`, in order: the seq offsets of a batch's rows."""
    seen: dict[UUID, int] = {}
    result = []
    for order_id in ids:
        seen[order_id] = seen.get(order_id, 0) + 1
        result.append(seen[order_id])
    return result
