"""The order intake's RabbitMQ topology, exactly as `ops/rabbitmq/definitions.json` declares it,
and the robust connection that the edge's publisher and the daemon's intake both open.

No delivery count may ever drop an order: the intake queue and its dead-letter queue have no
broker-side delivery limit. Only the daemon dead-letters, and only a message that can never be an
order (unreadable, forged, invalid); anything the home side cannot do now keeps the message in the
queue. RabbitMQ 3.x quorum queues have no limit unless `x-delivery-limit` is set (and treat -1 as
"dead-letter on the first return"); 4.x quorum queues default to a limit of 20, disabled by -1. So
the argument depends on the broker's major version, read from the connection.

The edge and the daemon both declare the topology on every (re)connection. RabbitMQ refuses a
declaration whose arguments differ from the existing queue's (PRECONDITION_FAILED), so these
arguments and the definitions file (written for the 4.x broker of ops/edge/compose.yaml) must
stay identical; tests/edge/test_topology.py checks it. docs/operations.md says how to migrate a
queue declared with the old `x-delivery-limit = 5`.
"""

from __future__ import annotations

import anyio
import msgspec
from aio_pika import ExchangeType, RobustConnection
from aio_pika.abc import AbstractChannel, AbstractQueue
from aiormq.exceptions import ChannelPreconditionFailed
from yarl import URL

from daemon.amqp_outage import OutageLog

DEAD_LETTER_EXCHANGE = "orders.dlx"
UNLIMITED_DELIVERIES = -1  # RabbitMQ 4.x: x-delivery-limit = -1 turns the limit off
HEARTBEAT_SECONDS = 10  # AMQP heartbeat asked for unless the URL names one (with_heartbeat)


class TopologyMismatch(RuntimeError):
    """The broker has the intake queues with other arguments (declared by an older papertrade)."""


class Topology(msgspec.Struct, frozen=True, kw_only=True):
    """The intake queue, and where its dead letters go: exchange `dead_letter_exchange`,
    routing key and queue `<queue>.dlq`."""

    queue: str = "orders.intake"
    dead_letter_exchange: str = DEAD_LETTER_EXCHANGE

    @property
    def dead_letter_queue(self) -> str:
        return self.queue + ".dlq"

    def queue_arguments(self, broker_major: int) -> dict[str, str | int]:
        return {
            **_unlimited(broker_major),
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": self.dead_letter_queue,
        }

    def dead_letter_queue_arguments(self, broker_major: int) -> dict[str, str | int]:
        return _unlimited(broker_major)


def _unlimited(broker_major: int) -> dict[str, str | int]:
    """A quorum queue without a delivery limit on a broker of this major version."""
    if broker_major >= 4:
        return {"x-queue-type": "quorum", "x-delivery-limit": UNLIMITED_DELIVERIES}
    return {"x-queue-type": "quorum"}


async def broker_major(channel: AbstractChannel) -> int:
    """The major version RabbitMQ announced on this channel's connection (3 if it did not)."""
    properties = (await channel.get_underlay_channel()).connection.server_properties
    version = properties.get("version", b"3")
    text = version.decode() if isinstance(version, bytes) else str(version)
    head = text.split(".", 1)[0]
    return int(head) if head.isdigit() else 3


async def declare(channel: AbstractChannel, topology: Topology) -> AbstractQueue:
    """Declare the dead-letter exchange and queue, their binding and the intake queue (idempotent);
    return the intake queue. On a robust channel aio-pika declares them again after a reconnect."""
    major = await broker_major(channel)
    try:
        exchange = await channel.declare_exchange(
            topology.dead_letter_exchange, ExchangeType.DIRECT, durable=True
        )
        dead_letters = await channel.declare_queue(
            topology.dead_letter_queue,
            durable=True,
            arguments=topology.dead_letter_queue_arguments(major),
        )
        await dead_letters.bind(exchange, routing_key=topology.dead_letter_queue)
        return await channel.declare_queue(
            topology.queue, durable=True, arguments=topology.queue_arguments(major)
        )
    except ChannelPreconditionFailed as exc:
        raise TopologyMismatch(
            f"RabbitMQ has {topology.queue} or {topology.dead_letter_queue} with other arguments "
            f"({exc}); queues declared by an older papertrade (x-delivery-limit = 5) must be "
            "migrated: see docs/operations.md, 'Migrating the intake queues'"
        ) from None


async def connect(url: str, name: str, reconnect_interval: float = 1.0) -> RobustConnection:
    """A robust connection named `name` (rabbitmqctl list_connections client_properties).

    Waits, retrying every `reconnect_interval` seconds, until RabbitMQ answers: the broker may
    well be down or out of reach when we start. Later losses are repaired by aio-pika, which
    reopens the channels and restores their declarations and consumers; an outage is logged
    once when it starts and once when it ends (OutageLog). Cancelling the wait closes the
    connection."""
    connection = RobustConnection(
        with_heartbeat(URL(url)),
        client_properties={"connection_name": name},
        fail_fast=False,
        reconnect_interval=reconnect_interval,
    )
    outage = OutageLog.of(name)
    outage.watch(connection)
    try:
        await connection.connect()
    except BaseException:
        await close(connection)
        raise
    outage.connected()
    return connection


def with_heartbeat(url: URL) -> URL:
    """`url` with a heartbeat of HEARTBEAT_SECONDS unless it names one. aiormq takes a
    connection for dead after three missed heartbeats: with RabbitMQ's 60 s that is about three
    minutes of a tunnel that went silent (it refuses nothing and closes nothing), and the
    reconnection starts only then; with 10 s it is about half a minute, and once the line is back
    the next attempt gets through."""
    return url if "heartbeat" in url.query else url.update_query(heartbeat=HEARTBEAT_SECONDS)


async def close(connection: RobustConnection) -> None:
    """Close, even while being cancelled, without hanging on a broker that no longer answers."""
    with anyio.move_on_after(5, shield=True):
        await connection.close()
