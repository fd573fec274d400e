"""The intake actor: takes orders off the RabbitMQ intake queue, checks who sent them and what
they ask for (`daemon/intake_auth.py`), records them, hands each to its user's settlement
partition, and acknowledges a message only once settlement has committed it.

Exactly-once effect on an at-least-once queue: recording is idempotent by order id, a redelivered
message re-sends its order to settlement only while it is still PENDING, and settlement never
settles an order twice. Messages are handled in delivery order, so each user's orders reach their
partition in the order they were accepted.

Only a message that can never be an order (unreadable, forged, invalid, or naming a recorded
order it does not match) is dead-lettered, with a log line saying why. Whatever the home side
cannot do now (`database_unavailable`: down, read-only, disk full) is tried again with backoff for
as long as it takes: the intake stops taking messages meanwhile (the ones it holds stay
unacknowledged, and RabbitMQ sends no more than the prefetch), and the queue keeps the rest.
The queue has no delivery limit (`daemon/amqp_topology.py`), so no crash loop can drop an order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import anyio
import msgspec
import structlog
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon import amqp_topology, intake_auth, order_wire
from daemon.amqp_topology import Topology
from daemon.db_faults import database_unavailable
from daemon.intake_auth import MessageRefused
from daemon.messages import Order, SettleOrder
from daemon.order_identity import same_request
from daemon.order_wire import OrderPlaced, WireError, order_id_hint
from daemon.streams import batches
from daemon.token_check import AccountTokens
from daemon.tokens import TokenVerifier, load_or_create_private_key

if TYPE_CHECKING:
    from daemon.platform import Platform

log = structlog.get_logger(__name__)

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
        self._consuming = False  # the consumer is attached now
        self._consuming_changed = anyio.Event()
        self.acknowledged = 0  # messages acknowledged, since the start of the process
        self.dead_lettered = 0  # messages dead-lettered, since the start of the process
        self.paused = False  # waiting for the database: taking no messages
        settings = platform.settings
        self._max_queue_age = timedelta(seconds=settings.intake_max_queue_age_seconds)
        key = load_or_create_private_key(settings.data_dir, settings.jwt_private_key)
        self._verifier = TokenVerifier(key.public_key(), platform.clock)
        self._accounts = AccountTokens(platform.pool, platform.clock)

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
                self._set_consuming(True)
        finally:
            self._set_consuming(False)
            delivered.close()
            await amqp_topology.close(connection)

    def _set_consuming(self, consuming: bool) -> None:
        self._consuming = consuming
        self._consuming_changed.set()
        self._consuming_changed = anyio.Event()

    async def wait_consuming(self) -> None:
        """Until the consumer is attached: now, or after the supervisor has restarted the intake
        (a waiter is never left on the attempt that failed)."""
        while not self._consuming:
            await self._consuming_changed.wait()

    def gauges(self):  # type: ignore[no-untyped-def]
        """For /metrics (Metrics.add_gauges): (name, help, labels, value)."""
        yield ("papertrade_intake_paused", "1 while the intake waits for the database", {},
               int(self.paused))  # fmt: skip
        yield ("papertrade_intake_acknowledged", "Intake messages acknowledged since start", {},
               self.acknowledged)  # fmt: skip
        yield ("papertrade_intake_dead_lettered", "Intake messages dead-lettered since start",
               {}, self.dead_lettered)  # fmt: skip

    # --- in delivery order: decode, record, hand over to settlement ------------------------------

    async def _handle(
        self,
        deliveries: ObjectReceiveStream[AbstractIncomingMessage],
        handed_over: ObjectSendStream[_Delivery],
    ) -> None:
        async for batch in batches(deliveries, self._prefetch):
            await self._handle_batch(batch, handed_over)

    async def _handle_batch(
        self, batch: list[AbstractIncomingMessage], handed_over: ObjectSendStream[_Delivery]
    ) -> None:
        readable: list[tuple[AbstractIncomingMessage, OrderPlaced]] = []
        for message in batch:
            try:
                readable.append((message, order_wire.decode(message.body)))
            except WireError as exc:
                await self._dead_letter(message, order_id_hint(message.body, message.message_id),
                                        f"unreadable: {exc}")  # fmt: skip
        decoded = await self._verified(readable)
        results = await self._record([order for _, order in decoded])
        for message, order in decoded:
            result = results[order.id]
            if isinstance(result, Exception):
                await self._dead_letter(message, order.id, f"cannot be recorded: {result!r}")
                continue
            stored, created = result
            if not same_request(stored, order):
                await self._dead_letter(
                    message, order.id, "its order id names a recorded order it does not match"
                )
                continue
            if created:
                self._platform.announce_accepted(stored)
                results[order.id] = (stored, False)  # the same order twice in one batch
            handed_over.send_nowait(await self._hand_over(message, stored))

    async def _verified(
        self, readable: list[tuple[AbstractIncomingMessage, OrderPlaced]]
    ) -> list[tuple[AbstractIncomingMessage, Order]]:
        """The orders of the messages whose sender and request the daemon accepts, built by the
        daemon (intake_auth); the others are dead-lettered, saying why."""
        if not readable:
            return []
        now = self._platform.clock.now()
        senders = await self._retrying(
            None,
            lambda: intake_auth.verify_senders(
                self._accounts, self._verifier, [placed for _, placed in readable], now,
                self._max_queue_age,
            ),
        )  # fmt: skip
        orders: list[tuple[AbstractIncomingMessage, Order]] = []
        for (message, placed), sender in zip(readable, senders, strict=True):
            try:
                if isinstance(sender, MessageRefused):
                    raise sender
                order = intake_auth.rebuild_order(
                    placed, sender.user_id, self._platform.instruments, now
                )
            except MessageRefused as exc:
                await self._dead_letter(message, placed.order_id, str(exc))
                continue
            orders.append((message, order))
        return orders

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

    async def _retrying(self, order_id: UUID | None, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()`, tried again (less and less often) for as long as the database cannot do
        it now; an error of the work itself is raised. Meanwhile no message is handled: the
        intake has stopped taking them. The pause is logged once, and its end."""
        delay = 0.1
        paused_at: float | None = None
        try:
            while True:
                try:
                    return await attempt()
                except Exception as exc:
                    if not database_unavailable(exc):
                        raise
                    if paused_at is None:
                        paused_at = anyio.current_time()
                        self.paused = True
                        log.warning("intake_paused_database_unavailable",
                                    order_id=str(order_id) if order_id else None,
                                    error=repr(exc))  # fmt: skip
                await anyio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
        finally:
            if paused_at is not None:
                self.paused = False
                log.info("intake_resumed",
                         paused_seconds=round(anyio.current_time() - paused_at, 1))  # fmt: skip

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
        """Return the message for another try (the queue counts no deliveries against it)."""
        log.warning("intake_order_returned", order_id=str(order.id), reason=why)
        try:
            await message.nack(requeue=True)
        except CONNECTION_EXCEPTIONS as exc:
            log.info("intake_nack_lost", order_id=str(order.id), error=repr(exc))

    async def _dead_letter(
        self, message: AbstractIncomingMessage, order_id: UUID | None, why: str
    ) -> None:
        """To the dead-letter queue, for good, with the reason in the log (`papertrade dlq list`
        shows the message, `papertrade dlq replay` puts it back). Changes no order."""
        self.dead_lettered += 1
        log.error("intake_message_dead_lettered", order_id=str(order_id) if order_id else None,
                  message_id=message.message_id, reason=why)  # fmt: skip
        try:
            await message.reject(requeue=False)  # to the dead-letter exchange
        except CONNECTION_EXCEPTIONS as exc:
            log.info("intake_reject_lost", order_id=str(order_id), error=repr(exc))


def _next_waiting(handed: ObjectReceiveStream[_Delivery]) -> _Delivery | None:
    try:
        return handed.receive_nowait()
    except (anyio.WouldBlock, anyio.EndOfStream):
        return None
