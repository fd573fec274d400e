"""POST /api/orders through the intake queue (the edge, and the daemon's API in edge mode).

A repeated client_order_id is the same order (SPEC 6): the gate looks the order up first (the
daemon in its database, the edge in its own small record) and answers the known order, or 409 if
the request differs. Otherwise it publishes and answers 202 once RabbitMQ has confirmed. A 503
says "not accepted" only where the order certainly did not reach the queue, and "unknown" where
it may have.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol
from uuid import UUID

import anyio
import asyncpg
import structlog

from daemon.api.errors import ConflictError, ServiceUnavailable
from daemon.db_faults import database_unavailable
from daemon.edge.publisher import OrderPublisher, PublishFailed
from daemon.messages import Order
from daemon.order_identity import conflict_detail, same_request
from daemon.order_wire import placed
from daemon.settlement_store import order_from_row
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)


class KnownOrders(Protocol):
    """Where a gate finds the orders it has accepted before."""

    async def get(self, order_id: UUID) -> Order | None: ...

    async def remember(self, order: Order) -> None: ...


class QueueGate:
    def __init__(self, publisher: OrderPublisher, known: KnownOrders) -> None:
        self._publisher = publisher
        self._known = known
        # One request at a time per order id, so that two concurrent repeats of a
        # client_order_id cannot both be published (and one of them answered 202 wrongly).
        self._busy: dict[UUID, anyio.Lock] = {}

    async def submit(self, order: Order, token: str) -> tuple[Order, bool]:
        """The order as accepted and whether it is new (in the shape of `Platform.submit`);
        409 ConflictError or 503 ServiceUnavailable otherwise."""
        if order.client_order_id is None:
            await self._publish(order, token)
            return order, True
        lock = self._busy.setdefault(order.id, anyio.Lock())
        try:
            async with lock:
                known = await self._known.get(order.id)
                if known is not None:
                    if not same_request(known, order):
                        raise ConflictError(conflict_detail(order.client_order_id))
                    return known, False
                await self._publish(order, token)
                await self._known.remember(order)
                return order, True
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._busy.pop(order.id, None)

    async def _publish(self, order: Order, token: str) -> None:
        try:
            await self._publisher.publish(placed(order, token))
        except PublishFailed as exc:
            raise ServiceUnavailable(_detail(exc), headers={"Retry-After": "2"}) from None


def _detail(failed: PublishFailed) -> str:
    if failed.maybe_queued:
        return (
            f"{failed}: the order may or may not have been accepted (unknown); retry with the "
            "same client_order_id, which cannot place it twice"
        )
    return f"{failed}, so the order was not accepted; try again in a few seconds"


class DatabaseOrders:
    """The daemon's own orders table (the intake records what the queue brings), and the orders
    this gate published lately that the intake may not have recorded yet. While the database
    cannot answer, only those are known: the order is published, and the intake, which compares
    a message with the order its id names, dead-letters a changed repeat."""

    def __init__(self, pool: asyncpg.Pool, recent: int = 10_000) -> None:
        self._pool = pool
        self._recent: OrderedDict[UUID, Order] = OrderedDict()
        self._recent_max = recent

    async def get(self, order_id: UUID) -> Order | None:
        try:
            row = await self._pool.fetchrow(query("orders_get"), order_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("order_lookup_skipped", order_id=str(order_id), error=repr(exc))
            row = None
        return self._recent.get(order_id) if row is None else order_from_row(row)

    async def remember(self, order: Order) -> None:
        self._recent[order.id] = order
        if len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)
