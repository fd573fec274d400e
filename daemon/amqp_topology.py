"""The order intake's RabbitMQ topology, exactly as `ops/rabbitmq/definitions.json` declares it,
and the robust connection that the edge's publisher and the daemon's intake both open.

The edge and the daemon both declare the topology on every (re)connection. RabbitMQ refuses a
declaration whose arguments differ from the existing queue's (PRECONDITION_FAILED), so these
arguments and the definitions file must stay identical; tests/edge/test_topology.py checks it.
"""

from __future__ import annotations

import anyio
import msgspec
from aio_pika import ExchangeType, RobustConnection
from aio_pika.abc import AbstractChannel, AbstractQueue
from yarl import URL

DEAD_LETTER_EXCHANGE = "orders.dlx"
# Returns (nacks, or deliveries to a consumer that died) before RabbitMQ dead-letters a message:
# it is delivered at most DELIVERY_LIMIT + 1 times; the last delivery has x-delivery-count = 5.
DELIVERY_LIMIT = 5


class Topology(msgspec.Struct, frozen=True, kw_only=True):
    """The intake queue, and where its dead letters go: exchange `dead_letter_exchange`,
    routing key and queue `<queue>.dlq`."""

    queue: str = "orders.intake"
    dead_letter_exchange: str = DEAD_LETTER_EXCHANGE

    @property
    def dead_letter_queue(self) -> str:
        return self.queue + ".dlq"

    def queue_arguments(self) -> dict[str, str | int]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": self.dead_letter_queue,
        }


async def declare(channel: AbstractChannel, topology: Topology) -> AbstractQueue:
    """Declare the dead-letter exchange and queue, their binding and the intake queue (idempotent);
    return the intake queue. On a robust channel aio-pika declares them again after a reconnect."""
    exchange = await channel.declare_exchange(
        topology.dead_letter_exchange, ExchangeType.DIRECT, durable=True
    )
    dead_letters = await channel.declare_queue(
        topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead_letters.bind(exchange, routing_key=topology.dead_letter_queue)
    return await channel.declare_queue(
        topology.queue, durable=True, arguments=topology.queue_arguments()
    )


async def connect(url: str, name: str, reconnect_interval: float = 1.0) -> RobustConnection:
    """A robust connection named `name` (rabbitmqctl list_connections client_properties).

    Waits, retrying every `reconnect_interval` seconds, until RabbitMQ answers: the broker may
    well be down or out of reach when we start. Later losses are repaired by aio-pika, which
    reopens the channels and restores their declarations and consumers. Cancelling the wait
    closes the connection."""
    connection = RobustConnection(
        URL(url),
        client_properties={"connection_name": name},
        fail_fast=False,
        reconnect_interval=reconnect_interval,
    )
    try:
        await connection.connect()
    except BaseException:
        await close(connection)
        raise
    return connection


async def close(connection: RobustConnection) -> None:
    """Close, even while being cancelled, without hanging on a broker that no longer answers."""
    with anyio.move_on_after(5, shield=True):
        await connection.close()
