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


def _count(status: str) -> int:
    """Rows touched, from asyncpg's command tag ('UPDATE 3', 'INSERT 0 3')."""
    return int(status.rsplit(" ", 1)[1])


async def commit(conn: asyncpg.Connection, batch: Batch, now: datetime) -> None:
    """Write `batch` atomically, or raise StaleState having written nothing."""
    async with conn.transaction():
        await _write_orders(conn, batch)
        await _write_money(conn, batch, now)
        await _write_records(conn, batch, now)


def _nullable_totals(order: Order) -> tuple[Decimal | None, Decimal | None]:
    if order.filled_quantity == 0:
        return None, None
    return order.total_krw, order.fee_krw


def _ordinals(ids: list[UUID]) -> list[int]:
    """1, 2, ... per order id in `ids`, in order: the seq offsets of a batch's rows."""
    seen: dict[UUID, int] = {}
    result = []
    for order_id in ids:
        seen[order_id] = seen.get(order_id, 0) + 1
        result.append(seen[order_id])
    return result


async def _write_orders(conn: asyncpg.Connection, batch: Batch) -> None:
    """Write the batch's orders; any that is not open with the believed filled quantity any
    more aborts it. The UPDATE only touches such rows (locking them), so the ids it returns tell
    which were changed elsewhere meanwhile, without a separate locking SELECT first."""
    rows = list(batch.orders.items())
    orders = [order for _, (_, order) in rows]
    totals = [_nullable_totals(order) for order in orders]
    updated = await conn.fetch(
        query("settlement_orders_update"),
        [order_id for order_id, _ in rows],
        [believed for _, (believed, _) in rows],
        [o.status for o in orders],
        [o.filled_quantity for o in orders],
        [o.average_price for o in orders],
        [o.applied_exchange_rate for o in orders],
        [total for total, _ in totals],
        [fee for _, fee in totals],
        [encode_json(o.fees) for o in orders],
        [o.reserved_krw for o in orders],
        [o.trail_mark for o in orders],
        [o.stop_price for o in orders],
        [o.quantity for o in orders],
        [o.limit_price for o in orders],
        [o.trail_percent for o in orders],
        [o.trail_amount for o in orders],
        [o.triggered_at for o in orders],
        [o.expires_at for o in orders],
        [o.resting_since for o in orders],
        [o.reason for o in orders],
        [o.filled_at for o in orders],
    )
    done = {row["id"] for row in updated}
    if len(done) != len(rows):
        raise StaleState("orders no longer as settlement believed", frozenset(batch.orders) - done)


async def _write_records(conn: asyncpg.Connection, batch: Batch, now: datetime) -> None:
    """The batch's receipts, history and ledger rows, in one statement."""
    fills, events = batch.fills, batch.events
    if not fills and not events:
        return  # a trailing stop's moved mark only
    await conn.execute(
        query("settlement_records_insert"),
        [o.id for o, _ in fills],
        _ordinals([o.id for o, _ in fills]),
        [f.quantity for _, f in fills],
        [f.price for _, f in fills],
        [f.rate for _, f in fills],
        [f.total_krw for _, f in fills],
        [f.fee_krw for _, f in fills],
        [encode_json(f.fees) for _, f in fills],
        [f.rule for _, f in fills],
        [encode_json(f.levels) for _, f in fills],
        [f.quote.price for _, f in fills],
        [f.quote.bid for _, f in fills],
        [f.quote.ask for _, f in fills],
        [f.quote.source for _, f in fills],
        [f.quote.ts for _, f in fills],
        [f.quote.received_at for _, f in fills],
        [f.quote.age_seconds for _, f in fills],
        [f.at for _, f in fills],
        [e.order_id for e in events],
        _ordinals([e.order_id for e in events]),
        [e.event.kind for e in events],
        [e.event.at for e in events],
        [e.event.reason for e in events],
        [None if e.detail is None else encode_json(e.detail) for e in events],
        [order.user_id for order, _ in fills],
        [order.id for order, _ in fills],
        [order.side for order, _ in fills],
        [fill.cash_delta for _, fill in fills],
        now,
    )


async def _write_money(conn: asyncpg.Connection, batch: Batch, now: datetime) -> None:
    if not batch.fills:
        return
    wallets = list(batch.wallets.items())
    status = await conn.execute(
        query("settlement_wallets_update"),
        [user_id for user_id, _ in wallets],
        [old for _, (old, _) in wallets],
        [new for _, (_, new) in wallets],
        now,
    )
    if _count(status) != len(wallets):
        raise StaleState("wallet balance differs from settlement's")

    updates = [(key, old, new) for key, (old, new, _) in batch.positions.items() if old is not None]
    if updates:
        status = await conn.execute(
            query("settlement_positions_update"),
            [user_id for (user_id, _), _, _ in updates],
            [ticker for (_, ticker), _, _ in updates],
            [old.quantity for _, old, _ in updates if old is not None],
            [new.quantity for _, _, new in updates],
            [new.average_price for _, _, new in updates],
            now,
        )
        if _count(status) != len(updates):
            raise StaleState("position differs from settlement's")
    inserts = [(key, new, cur) for key, (old, new, cur) in batch.positions.items() if old is None]
    if inserts:
        try:
            await conn.execute(
                query("settlement_positions_insert"),
                [user_id for (user_id, _), _, _ in inserts],
                [ticker for (_, ticker), _, _ in inserts],
                [new.quantity for _, new, _ in inserts],
                [new.average_price for _, new, _ in inserts],
                [currency for _, _, currency in inserts],
                now,
            )
        except asyncpg.UniqueViolationError:
            raise StaleState("a position settlement thought new already exists") from None
