"""Settlement's SQL: load its users' cash and positions, and write one batch in one transaction.

Writes are compare-and-set against what the actor believed (balance, quantity, PENDING), so a
stale belief aborts the batch (StaleState) instead of corrupting anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

from daemon.fills import Position
from daemon.messages import Order
from daemon.sqlfiles import query


class StaleState(Exception):
    """The database is not what settlement believed; reload and recompute."""

    def __init__(self, what: str, not_pending: frozenset[UUID] = frozenset()) -> None:
        super().__init__(what)
        self.not_pending = not_pending


class UserState(msgspec.Struct):
    """One user's cash and positions as settlement believes them (actor-private, mutable)."""

    cash: Decimal
    positions: dict[str, Position]

    def copy(self) -> UserState:
        return UserState(self.cash, dict(self.positions))


class Batch(msgspec.Struct):
    """Everything one settlement transaction writes."""

    filled: list[tuple[Order, Decimal]] = msgspec.field(default_factory=list)  # order, cash delta
    ended: list[Order] = msgspec.field(default_factory=list)  # FAILED or CANCELLED
    wallets: dict[UUID, tuple[Decimal, Decimal]] = msgspec.field(default_factory=dict)
    positions: dict[tuple[UUID, str], tuple[Position | None, Position, str]] = msgspec.field(
        default_factory=dict
    )

    def __bool__(self) -> bool:
        return bool(self.filled or self.ended)

    def order_ids(self) -> list[UUID]:
        return [order.id for order, _ in self.filled] + [order.id for order in self.ended]


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
    return users


def _count(status: str) -> int:
    """Rows touched, from asyncpg's command tag ('UPDATE 3', 'INSERT 0 3')."""
    return int(status.rsplit(" ", 1)[1])


async def commit(conn: asyncpg.Connection, batch: Batch, now: datetime) -> None:
    """Write `batch` atomically, or raise StaleState having written nothing."""
    async with conn.transaction():
        await _write_orders(conn, batch)
        await _write_money(conn, batch, now)


async def _write_orders(conn: asyncpg.Connection, batch: Batch) -> None:
    """Move the batch's orders out of PENDING; any that was not PENDING any more aborts it.

    The UPDATEs only touch rows still PENDING (locking them), so the ids they return tell which
    were settled elsewhere meanwhile, without a separate locking SELECT first."""
    updated: set = set()
    if batch.filled:
        fills = [order for order, _ in batch.filled]
        rows = await conn.fetch(
            query("settlement_fill_orders"),
            [o.id for o in fills],
            [o.price for o in fills],
            [o.applied_exchange_rate for o in fills],
            [o.total_krw for o in fills],
            [o.fee_krw for o in fills],
            [o.filled_at for o in fills],
        )
        updated.update(row["id"] for row in rows)
    if batch.ended:
        rows = await conn.fetch(
            query("settlement_end_orders"),
            [o.id for o in batch.ended],
            [o.status for o in batch.ended],
            [o.reason for o in batch.ended],
        )
        updated.update(row["id"] for row in rows)
    ids = batch.order_ids()
    if len(updated) != len(ids):
        raise StaleState("orders no longer pending", frozenset(set(ids) - updated))


async def _write_money(conn: asyncpg.Connection, batch: Batch, now: datetime) -> None:
    if not batch.filled:
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

    await conn.execute(
        query("settlement_ledger_insert"),
        [order.user_id for order, _ in batch.filled],
        [order.id for order, _ in batch.filled],
        [order.side for order, _ in batch.filled],
        [delta for _, delta in batch.filled],
        now,
    )
