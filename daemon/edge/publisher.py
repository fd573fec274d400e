"""Publishing orders to the intake queue with publisher confirms: accepted means RabbitMQ has it.

Used by `papertrade edge`, and by the daemon's own POST /api/orders when PAPERTRADE_AMQP_URL is
set, so that every order takes the same path. Its own connection: RabbitMQ throttles publishing
connections under memory pressure, which must not stall the daemon's consumer.
"""

from __future__ import annotations

import aio_pika
import anyio
import structlog
from aio_pika.abc import AbstractRobustChannel
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError

from daemon import amqp_topology
from daemon.amqp_topology import Topology
from daemon.api.errors import ServiceUnavailable
from daemon.messages import Order
from daemon.order_wire import CONTENT_TYPE, MESSAGE_TYPE, encode_order

log = structlog.get_logger(__name__)


class PublishFailed(Exception):
    """RabbitMQ did not confirm the order, so it was not accepted: 503, and the client retries."""


class OrderPublisher:
    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        name: str,
        confirm_timeout: float = 5.0,
        reconnect_interval: float = 1.0,
    ) -> None:
        self._url = url
        self._topology = topology
        self._name = name
        self._confirm_timeout = confirm_timeout
        self._reconnect_interval = reconnect_interval
        self._channel: AbstractRobustChannel | None = None
        self._ready = False

    @property
    def connected(self) -> bool:
        """Whether RabbitMQ is reachable right now (as far as the open connection knows) and the
        topology is declared: after a reconnection, only once aio-pika has declared it again."""
        return self._channel is not None and self._ready

    def _lost(self, *_: object) -> None:
        self._ready = False

    def _restored(self, *_: object) -> None:
        self._ready = True

    async def run(self) -> None:
        """Connect (waiting for RabbitMQ as long as it takes), declare the topology, then keep the
        connection, which repairs itself, until cancelled."""
        connection = await amqp_topology.connect(self._url, self._name, self._reconnect_interval)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            await amqp_topology.declare(channel, self._topology)
            connection.close_callbacks.add(self._lost)
            # Called once the channel is open again and its declarations are restored.
            connection.reconnect_callbacks.add(self._restored)
            self._channel, self._ready = channel, True
            log.info("order_publisher_ready", queue=self._topology.queue)
            await anyio.sleep_forever()
        finally:
            self._channel, self._ready = None, False
            await amqp_topology.close(connection)

    async def publish(self, order: Order) -> None:
        """Return once RabbitMQ has confirmed `order` as stored in the durable queue; otherwise
        raise PublishFailed, saying why. A failure may still have reached the queue (a confirm
        lost with the connection): the order id, deterministic for a client_order_id, makes the
        client's retry the same order."""
        channel = self._channel
        if channel is None or not self.connected:
            raise PublishFailed(
                "the order queue (RabbitMQ) cannot be reached right now, so the order was not "
                "accepted; try again in a few seconds"
            )
        message = aio_pika.Message(
            encode_order(order),
            content_type=CONTENT_TYPE,
            type=MESSAGE_TYPE,
            message_id=str(order.id),
            app_id=self._name,
            timestamp=order.created_at,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            with anyio.fail_after(self._confirm_timeout):
                await channel.default_exchange.publish(
                    message, routing_key=self._topology.queue, mandatory=True
                )
        except TimeoutError:
            detail = f"RabbitMQ did not confirm the order within {self._confirm_timeout:g} s"
        except DeliveryError as exc:  # a nack, or returned as unroutable (no intake queue)
            detail = f"RabbitMQ refused the order ({type(exc).__name__})"
        except CONNECTION_EXCEPTIONS as exc:
            detail = f"the connection to RabbitMQ failed ({type(exc).__name__})"
        else:
            log.info("order_queued", order_id=str(order.id), user_id=str(order.user_id))
            return
        log.warning("order_not_queued", order_id=str(order.id), reason=detail)
        raise PublishFailed(
            f"{detail}, so the order was not accepted; try again (with the same client_order_id)"
        )

    async def submit(self, order: Order) -> tuple[Order, bool]:
        """`publish` for POST /api/orders (in the shape of `Platform.submit`): the order is always
        reported new, as the queue cannot tell; PublishFailed becomes 503 Service Unavailable."""
        try:
            await self.publish(order)
        except PublishFailed as exc:
            raise ServiceUnavailable(str(exc), headers={"Retry-After": "2"}) from None
        return order, True
