"""Publishing orders to the intake queue with publisher confirms: accepted means RabbitMQ has it.

Used by `papertrade edge`, and by the daemon's own POST /api/orders when PAPERTRADE_AMQP_URL is
set, so that every order takes the same path. Its own connection: RabbitMQ throttles publishing
connections under memory pressure, which must not stall the daemon's consumer.

Whether the broker *confirms* is watched, not assumed: a probe (an empty message to a routing
key no queue has, which RabbitMQ confirms at once and stores nowhere) goes out every
`probe_interval` seconds, and a broker that does not confirm it, or a real order, within
`stall_after` seconds (blocked by a memory or disk alarm, or stalled) is not ready.
"""

from __future__ import annotations

import time

import aio_pika
import anyio
import structlog
from aio_pika.abc import AbstractRobustChannel
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError

from daemon import amqp_topology, order_wire
from daemon.amqp_topology import Topology
from daemon.order_wire import CONTENT_TYPE, MESSAGE_TYPE, OrderPlaced

log = structlog.get_logger(__name__)
PROBE_ROUTING_KEY = "papertrade.readiness-probe"  # no queue is bound to it


class PublishFailed(Exception):
    """RabbitMQ did not confirm the order. `maybe_queued`: it may still be in the queue (sent,
    and then the confirm did not come or the connection broke), so the answer is "unknown"."""

    def __init__(self, detail: str, *, maybe_queued: bool) -> None:
        super().__init__(detail)
        self.maybe_queued = maybe_queued


class OrderPublisher:
    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        name: str,
        confirm_timeout: float = 5.0,
        stall_after: float = 2.0,
        probe_interval: float = 1.0,
        reconnect_interval: float = 1.0,
    ) -> None:
        self._url = url
        self._topology = topology
        self._name = name
        self._confirm_timeout = confirm_timeout
        self._stall_after = stall_after
        self._probe_interval = probe_interval
        self._reconnect_interval = reconnect_interval
        self._channel: AbstractRobustChannel | None = None
        self._ready = False
        self._confirms = False  # the last probe was confirmed in time
        self._unconfirmed: dict[int, float] = {}  # publishes waiting for a confirm: start times

    @property
    def connected(self) -> bool:
        """Whether RabbitMQ is reachable right now (as far as the open connection knows) and the
        topology is declared: after a reconnection, only once aio-pika has declared it again."""
        return self._channel is not None and self._ready

    @property
    def confirming(self) -> bool:
        """Connected, and RabbitMQ confirms what it is sent within `stall_after` seconds."""
        oldest = min(self._unconfirmed.values(), default=None)
        stalled = oldest is not None and time.monotonic() - oldest > self._stall_after
        return self.connected and self._confirms and not stalled

    def _lost(self, *_: object) -> None:
        self._ready = False

    def _restored(self, *_: object) -> None:
        self._ready = True

    async def run(self) -> None:
        """Connect (waiting for RabbitMQ as long as it takes), declare the topology, then probe
        the broker's confirms until cancelled; the connection repairs itself."""
        connection = await amqp_topology.connect(self._url, self._name, self._reconnect_interval)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            await amqp_topology.declare(channel, self._topology)
            connection.close_callbacks.add(self._lost)
            # Called once the channel is open again and its declarations are restored.
            connection.reconnect_callbacks.add(self._restored)
            self._channel, self._ready = channel, True
            log.info("order_publisher_ready", queue=self._topology.queue)
            while True:
                await self._probe(channel)
                await anyio.sleep(self._probe_interval)
        finally:
            self._channel, self._ready, self._confirms = None, False, False
            await amqp_topology.close(connection)

    async def _probe(self, channel: AbstractRobustChannel) -> None:
        confirmed = False
        if self.connected:
            with anyio.move_on_after(self._stall_after):
                try:
                    await channel.default_exchange.publish(
                        aio_pika.Message(b"", app_id=self._name),
                        routing_key=PROBE_ROUTING_KEY,
                        mandatory=False,
                    )
                    confirmed = True
                except (*CONNECTION_EXCEPTIONS, DeliveryError):
                    pass
        if confirmed != self._confirms and self.connected:
            if confirmed:
                log.info("amqp_confirms_resumed", connection=self._name)
            else:
                log.warning("amqp_confirms_stalled", connection=self._name,
                            stall_after=self._stall_after)  # fmt: skip
        self._confirms = confirmed

    async def publish(self, placed: OrderPlaced) -> None:
        """Return once RabbitMQ has confirmed the order as stored in the durable queue; otherwise
        raise PublishFailed, saying why and whether it may have reached the queue anyway. The
        order id, deterministic for a client_order_id, makes the client's retry the same order."""
        channel = self._channel
        order_id = str(placed.order_id)
        if channel is None or not self.connected:
            raise PublishFailed("the order queue (RabbitMQ) cannot be reached right now",
                                maybe_queued=False)  # fmt: skip
        message = aio_pika.Message(
            order_wire.encode(placed),
            content_type=CONTENT_TYPE,
            type=MESSAGE_TYPE,
            message_id=order_id,
            app_id=self._name,
            timestamp=placed.accepted_at,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        key = id(message)
        self._unconfirmed[key] = time.monotonic()
        try:
            with anyio.fail_after(self._confirm_timeout):
                await channel.default_exchange.publish(
                    message, routing_key=self._topology.queue, mandatory=True
                )
        except TimeoutError:
            failed = PublishFailed(
                f"RabbitMQ did not confirm the order within {self._confirm_timeout:g} s",
                maybe_queued=True,
            )
        except DeliveryError as exc:  # a nack, or returned as unroutable (no intake queue)
            failed = PublishFailed(f"RabbitMQ refused the order ({type(exc).__name__})",
                                   maybe_queued=False)  # fmt: skip
        except CONNECTION_EXCEPTIONS as exc:
            failed = PublishFailed(
                f"the connection to RabbitMQ failed ({type(exc).__name__})", maybe_queued=True
            )
        else:
            log.info("order_queued", order_id=order_id)
            return
        finally:
            del self._unconfirmed[key]
        log.warning("order_not_queued", order_id=order_id, reason=str(failed),
                    maybe_queued=failed.maybe_queued)  # fmt: skip
        raise failed
