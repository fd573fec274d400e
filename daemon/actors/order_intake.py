"""The intake actor: takes orders off the RabbitMQ intake queue, records them, hands each to its
user's settlement partition, and acknowledges a message only once settlement has committed it.

Exactly-once effect on an at-least-once queue: recording is idempotent by order id, a redelivered
message re-sends its order to settlement only while it is still PENDING, and settlement never
settles an order twice. Messages are handled in delivery order, so each user's orders reach their
partition in the order they were accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import anyio
import asyncpg
import msgspec
import structlog
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon import amqp_topology
from daemon import settlement_store as store
from daemon.actors.settlement import order_from_row
from daemon.amqp_topology import DELIVERY_LIMIT, Topology
from daemon.messages import Order, OrderEvent, SettleOrder
from daemon.order_wire import WireError, decode_order, order_id_hint
from daemon.sqlfiles import query

if TYPE_CHECKING:
    from daemon.platform import Platform

log = structlog.get_logger(__name__)

# Errors of the database as a whole, not of one order: wait and try again, holding the messages.
_TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,  # serialization failure, deadlock
)
_RETRY_MAX = 5.0  # seconds between attempts while the database is away
Recorded = tuple[Order, bool] | Exception
T = TypeVar("T")


class _Delivery(msgspec.Struct):
    """A message whose order went to settlement; `settled` is None if it had settled already."""

    message: AbstractIncomingMessage
    order: Order
    settled: anyio.Event | None


class OrderIntake:
    def __init__(
        self,
        platform: Platform,
        url: str,
        topology: Topology,
        *,
        prefetch: int = 256,
        settle_timeout: float = 30.0,
        name: str = "papertrade-daemon-intake",
        reconnect_interval: float = 1.0,
    ) -> None:
        self._platform = platform
        self._url = url
        self._topology = topology
        self._prefetch = prefetch
        self._settle_timeout = settle_timeout
        self._name = name
        self._reconnect_interval = reconnect_interval
        # Orders sent to settlement and not yet committed: a redelivery waits for the same event.
        self._settling: dict[UUID, anyio.Event] = {}
        self.consuming = anyio.Event()  # set once the consumer is attached (again after a restart)
        self.acknowledged = 0  # messages acknowledged, since the start of the process

    async def run(self) -> None:
        self._settling.clear()
        # Unbounded in type only: RabbitMQ sends at most `prefetch` unacknowledged messages per
        # channel (a few times that across reconnections, until the stale ones are handled).
        delivered, deliveries = anyio.create_memory_object_stream[AbstractIncomingMessage](math.inf)
        handed_over, handed = anyio.create_memory_object_stream[_Delivery](math.inf)

        async def on_message(message: AbstractIncomingMessage) -> None:
            # aio-pika calls this in delivery order; it must not await before queueing.
            with contextlib.suppress(anyio.ClosedResourceError):  # stopping: RabbitMQ redelivers
                delivered.send_nowait(message)

        connection = await amqp_topology.connect(self._url, self._name, self._reconnect_interval)
        try:
            channel = await connection.channel(publisher_confirms=False)
            await channel.set_qos(prefetch_count=self._prefetch)
            queue = await amqp_topology.declare(channel, self._topology)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._handle, deliveries, handed_over)
                tg.start_soon(self._acknowledge, handed)
                await queue.consume(on_message)
                log.info("intake_consuming", queue=self._topology.queue, prefetch=self._prefetch)
                self.consuming.set()
        finally:
            self.consuming = anyio.Event()
            delivered.close()
            await amqp_topology.close(connection)

    # --- in delivery order: decode, record, hand over to settlement ------------------------------

    async def _handle(
        self,
        deliveries: ObjectReceiveStream[AbstractIncomingMessage],
        handed_over: ObjectSendStream[_Delivery],
    ) -> None:
        async for first in deliveries:
            batch = [first]
            while len(batch) < self._prefetch:
                try:
                    batch.append(deliveries.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            await self._handle_batch(batch, handed_over)

    async def _handle_batch(
        self, batch: list[AbstractIncomingMessage], handed_over: ObjectSendStream[_Delivery]
    ) -> None:
        decoded: list[tuple[AbstractIncomingMessage, Order]] = []
        for message in batch:
            try:
                decoded.append((message, decode_order(message.body)))
            except WireError as exc:
                order_id = order_id_hint(message.body, message.message_id)
                log.error(
                    "intake_message_unreadable",
                    order_id=str(order_id) if order_id else None,
                    message_id=message.message_id,
                    error=str(exc),
                )
                await self._dead_letter(message, order_id)
        results = await self._record([order for _, order in decoded])
        for message, order in decoded:
            result = results[order.id]
            if isinstance(result, Exception):
                await self._give_back(message, order, f"not recorded: {result!r}")
                continue
            stored, created = result
            if created:
                self._platform.announce_accepted(stored)
                results[order.id] = (stored, False)  # the same order twice in one batch
            handed_over.send_nowait(await self._hand_over(message, stored))

    async def _hand_over(self, message: AbstractIncomingMessage, order: Order) -> _Delivery:
        if order.status != "PENDING":  # a redelivery of an order that has settled
            return _Delivery(message, order, None)
        settled = self._settling.get(order.id)
        if settled is None:
            settled = self._settling[order.id] = anyio.Event()
            inbox = self._platform.inbox_of(order.user_id)
            try:  # without a checkpoint per order: the batch goes over at once
                inbox.send_nowait(SettleOrder(order, settled))
            except anyio.WouldBlock:
                await inbox.send(SettleOrder(order, settled))
        return _Delivery(message, order, settled)

    async def _record(self, orders: list[Order]) -> dict[UUID, Recorded]:
        """Record `orders` (duplicates once) as PENDING, together so that they share a commit.
        One bad order fails its whole group, so each failed order is tried again alone."""
        unique = list({order.id: order for order in orders}.values())
        # asyncio.gather rather than a task group: a task per order is the hot path here, and
        # anyio's tasks cost several times more (the recorder uses bare futures for that reason).
        recorded = await asyncio.gather(
            *(self._platform.recorder.record(order) for order in unique), return_exceptions=True
        )
        results: dict[UUID, Recorded] = {}
        for order, result in zip(unique, recorded, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancelled
            results[order.id] = result
        for order in unique:
            if isinstance(results[order.id], Exception):
                results[order.id] = await self._record_alone(order)
        return results

    async def _record_alone(self, order: Order) -> Recorded:
        try:
            return await self._retrying(order.id, lambda: self._platform.recorder.record(order))
        except Exception as exc:
            return exc

    async def _retrying(self, order_id: UUID, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()`, tried again (less and less often) for as long as the database is away."""
        delay = 0.1
        while True:
            try:
                return await attempt()
            except _TRANSIENT as exc:
                log.warning("intake_database_unavailable", order_id=str(order_id),
                            error=repr(exc), retry_in=delay)  # fmt: skip
            await anyio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    # --- in delivery order: acknowledge what settlement has committed ---------------------------

    async def _acknowledge(self, handed: ObjectReceiveStream[_Delivery]) -> None:
        """Acknowledge in delivery order, many at once: `ack(multiple=True)` on a message also
        acknowledges every earlier one of its channel, and all of those have been dealt with
        (acknowledged here, or rejected or given back as they were handled)."""
        async for first in handed:
            ready: list[_Delivery] = []  # settled, in order, not yet acknowledged
            delivery: _Delivery | None = first
            while delivery is not None:
                if delivery.settled is not None and not delivery.settled.is_set():
                    await self._ack(ready)
                    ready = []
                    if not await self._settled(delivery):
                        delivery = _next_waiting(handed)
                        continue
                self._forget(delivery)
                ready.append(delivery)
                delivery = _next_waiting(handed)
            await self._ack(ready)

    async def _settled(self, delivery: _Delivery) -> bool:
        """Wait for settlement to commit the delivery's order; if it does not in time (settlement
        stuck or restarted), give the message back to the queue and say False."""
        assert delivery.settled is not None
        with anyio.move_on_after(self._settle_timeout):
            await delivery.settled.wait()
        if delivery.settled.is_set():
            return True
        self._forget(delivery)
        await self._give_back(
            delivery.message,
            delivery.order,
            f"settlement did not commit it within {self._settle_timeout:g} s",
        )
        return False

    def _forget(self, delivery: _Delivery) -> None:
        order_id = delivery.order.id
        if delivery.settled is not None and self._settling.get(order_id) is delivery.settled:
            del self._settling[order_id]

    async def _ack(self, ready: list[_Delivery]) -> None:
        if not ready:
            return
        try:
            await ready[-1].message.ack(multiple=True)
        except CONNECTION_EXCEPTIONS as exc:
            # The channel they came on is gone; RabbitMQ delivers them again, and their orders,
            # settled by then, are only acknowledged.
            log.info("intake_ack_lost", messages=len(ready), error=repr(exc))
            return
        self.acknowledged += len(ready)

    # --- failures -------------------------------------------------------------------------------

    async def _give_back(self, message: AbstractIncomingMessage, order: Order, why: str) -> None:
        """Return the message for another try; on its last delivery dead-letter it instead, and
        mark its order FAILED (RabbitMQ would dead-letter it on return anyway)."""
        deliveries = _delivery_count(message) + 1
        if deliveries > DELIVERY_LIMIT:
            log.error("intake_order_undeliverable", order_id=str(order.id), deliveries=deliveries,
                      reason=why)  # fmt: skip
            await self._dead_letter(message, order.id)
            return
        log.warning("intake_order_returned", order_id=str(order.id), deliveries=deliveries,
                    reason=why)  # fmt: skip
        try:
            await message.nack(requeue=True)
        except CONNECTION_EXCEPTIONS as exc:
            log.info("intake_nack_lost", order_id=str(order.id), error=repr(exc))

    async def _dead_letter(self, message: AbstractIncomingMessage, order_id: UUID | None) -> None:
        if order_id is not None:
            await self._mark_failed(order_id)
        try:
            await message.reject(requeue=False)  # to the dead-letter exchange
        except CONNECTION_EXCEPTIONS as exc:
            log.info("intake_reject_lost", order_id=str(order_id), error=repr(exc))

    async def _mark_failed(self, order_id: UUID) -> None:
        """FAILED (undeliverable) if the order is recorded and still PENDING. Written the way
        settlement writes (compare-and-set on PENDING), so whichever of the two comes first wins."""
        failed = await self._retrying(order_id, lambda: self._fail_if_pending(order_id))
        if failed is not None:
            log.warning("order_failed_undeliverable", order_id=str(order_id))
            self._platform.publish_order(OrderEvent(failed))

    async def _fail_if_pending(self, order_id: UUID) -> Order | None:
        async with self._platform.pool.acquire() as conn:
            row = await conn.fetchrow(query("orders_get"), order_id)
            if row is None or row["status"] != "PENDING":
                return None
            failed = msgspec.structs.replace(
                order_from_row(row), status="FAILED", reason="undeliverable"
            )
            try:
                await store.commit(conn, store.Batch(ended=[failed]), self._platform.clock.now())
            except store.StaleState:
                return None  # settled meanwhile
        return failed


def _next_waiting(handed: ObjectReceiveStream[_Delivery]) -> _Delivery | None:
    try:
        return handed.receive_nowait()
    except (anyio.WouldBlock, anyio.EndOfStream):
        return None


def _delivery_count(message: AbstractIncomingMessage) -> int:
    """Earlier deliveries of this message that were returned (quorum queues count them)."""
    count = (message.headers or {}).get("x-delivery-count", 0)
    return count if isinstance(count, int) else 0
