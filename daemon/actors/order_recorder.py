"""The order recorder: commits new PENDING orders in groups, one INSERT for all who are waiting.

A request is answered 202 only after its row is committed; under load many requests share one
commit (group commit) instead of paying for a transaction each. A row the database refuses (its
user deleted, say) fails only its own order: the group is split until the bad row is alone.
"""

from __future__ import annotations

import asyncio
import time

import anyio
import asyncpg
import structlog

from daemon.db_faults import database_unavailable
from daemon.messages import Order
from daemon.settlement_store import order_from_row
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)


class _Waiter:
    __slots__ = ("done", "order")

    def __init__(self, order: Order) -> None:
        self.order = order
        # A bare asyncio future: this runs per order on the hot path, and anyio.Event costs more.
        self.done: asyncio.Future[tuple[Order, bool]] = asyncio.get_running_loop().create_future()


class OrderRecorder:
    def __init__(self, pool: asyncpg.Pool, max_group: int = 2000) -> None:
        self._pool = pool
        self._max_group = max_group
        self._waiting: list[_Waiter] = []
        self._wakeup = anyio.Event()
        self._refused_at: float | None = None  # the last group the database could not take
        self._refused_orders = 0  # since the database last took one

    def refused_within(self, seconds: float) -> bool:
        """Whether a group commit failed for the database's sake in the last `seconds`, with no
        success since: readiness for faults a probe cannot see (a full disk refuses new pages,
        while a probe rewriting one row fits in the page it has)."""
        return self._refused_at is not None and time.monotonic() - self._refused_at < seconds

    async def record(self, order: Order) -> tuple[Order, bool]:
        """Commit `order` as PENDING. Returns the stored order and whether it is new
        (False: a retry of an order already recorded, which is returned as it stands now)."""
        waiter = _Waiter(order)
        self._waiting.append(waiter)
        self._wakeup.set()
        return await waiter.done

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup = anyio.Event()
            while self._waiting:
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
                with anyio.CancelScope(shield=True):
                    await self._commit(group)

    async def _commit(self, group: list[_Waiter]) -> None:
        try:
            results = await self._insert([w.order for w in group])
        except Exception as exc:
            if database_unavailable(exc):
                # One line as this starts (no traceback), one as it ends; each 503 is in the
                # access log.
                if self._refused_at is None:
                    log.warning("order_recording_unavailable", error=repr(exc))
                self._refused_at = time.monotonic()
                self._refused_orders += len(group)
            elif len(group) > 1:
                # One bad row fails the whole INSERT: record the halves apart, down to that row.
                middle = len(group) // 2
                await self._commit(group[:middle])
                await self._commit(group[middle:])
                return
            else:
                log.warning(
                    "order_record_refused", order_id=str(group[0].order.id), error=repr(exc)
                )
            for waiter in group:
                if not waiter.done.done():
                    waiter.done.set_exception(exc)
            return
        if self._refused_at is not None:
            log.warning("order_recording_available_again", refused_orders=self._refused_orders)
            self._refused_at = None
            self._refused_orders = 0
        for waiter, result in zip(group, results, strict=True):
            if not waiter.done.done():  # a waiter cancelled (client gone) needs no answer
                waiter.done.set_result(result)

    async def _insert(self, orders: list[Order]) -> list[tuple[Order, bool]]:
        conn = await self._pool.acquire()
        try:
            return await self._insert_on(conn, orders)
        finally:
            try:
                await self._pool.release(conn)
            except Exception as exc:
                # Only readying the connection for reuse failed (the server ended its session
                # just after our statements): the pool has dropped it, and what we committed
                # on it stands. Failing here would answer 503 for orders that are recorded.
                log.warning("database_connection_dropped", error=repr(exc))

    async def _insert_on(
        self, conn: asyncpg.Connection, orders: list[Order]
    ) -> list[tuple[Order, bool]]:
        # One INSERT is atomic on its own: no BEGIN/COMMIT round trips around it.
        inserted = {
            row["id"]
            for row in await conn.fetch(
                query("orders_insert"),
                [o.id for o in orders],
                [o.user_id for o in orders],
                [o.client_order_id for o in orders],
                [o.ticker_id for o in orders],
                [o.side for o in orders],
                [o.type for o in orders],
                [o.quantity for o in orders],
                [o.limit_price for o in orders],
                [o.currency for o in orders],
                [o.created_at for o in orders],
                [o.time_in_force for o in orders],
                [o.amount_krw for o in orders],
                [o.stop_price for o in orders],
                [o.trail_percent for o in orders],
                [o.trail_amount for o in orders],
            )
        }
        retried = [o for o in orders if o.id not in inserted]
        existing: list[Order] = []
        if retried:
            rows = await conn.fetch(
                query("orders_existing"),
                [o.id for o in retried],
                [o.user_id for o in retried],
                [o.client_order_id for o in retried],
            )
            existing = [order_from_row(r) for r in rows]
        return [_result(order, inserted, existing) for order in orders]


def _result(order: Order, inserted: set, existing: list[Order]) -> tuple[Order, bool]:
    if order.id in inserted:
        return order, True
    for other in existing:
        same_client_id = (
            order.client_order_id is not None
            and other.user_id == order.user_id
            and other.client_order_id == order.client_order_id
        )
        if other.id == order.id or same_client_id:
            return other, False
    raise RuntimeError(f"order {order.id} neither inserted nor found")
