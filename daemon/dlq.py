"""`papertrade dlq list|replay`: the intake's dead letters, shown and put back in the queue.

Only the daemon dead-letters, and only a message that can never be an order as it stands; its
reason is in the daemon's log (`intake_message_dead_lettered`, with the message id). `list`
shows each dead letter without removing it (never its token); `replay` moves the chosen ones (or
all) back to the intake queue, where the daemon checks them again from the start: worth it once
the cause is gone (a user restored, a daemon upgraded). Replaying is safe: an order id already
recorded is never recorded twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aio_pika
import msgspec
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from daemon import amqp_topology, order_wire
from daemon.amqp_topology import Topology
from daemon.order_wire import WireError

REPLAYED_HEADER = "x-papertrade-replayed"  # how many times a message was replayed


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str | None
    dead_lettered_at: datetime | None
    deaths: int  # times RabbitMQ has dead-lettered it
    replayed: int
    order: str  # what it asks for, or why it cannot be read

    def line(self) -> str:
        at = self.dead_lettered_at.isoformat() if self.dead_lettered_at else "?"
        return (
            f"{self.message_id or '-'}  dead-lettered {at} (x{self.deaths}, replayed "
            f"{self.replayed})  {self.order}"
        )


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    deaths = headers.get("x-death") or []
    first = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    at = first.get("time")
    try:
        placed = order_wire.decode(message.body)
        request = placed.request
        price = f" at {request.limit_price}" if request.limit_price is not None else ""
        order = (
            f"order {placed.order_id}: {request.side} {request.quantity} {request.ticker_id} "
            f"{request.type}{price}, accepted {placed.accepted_at.isoformat()}"
        )
    except WireError as exc:
        order = f"unreadable: {str(exc)[:200]}"
    replayed = headers.get(REPLAYED_HEADER, 0)
    return DeadLetter(
        message_id=message.message_id,
        dead_lettered_at=at if isinstance(at, datetime) else None,
        deaths=int(first.get("count", 0) or 0),
        replayed=replayed if isinstance(replayed, int) else 0,
        order=order,
    )


async def _take(channel: AbstractChannel, topology: Topology) -> list[AbstractIncomingMessage]:
    """Every dead letter, unacknowledged: they go back to the queue when the channel closes."""
    queue = await channel.get_queue(topology.dead_letter_queue, ensure=False)
    waiting = await channel.declare_queue(topology.dead_letter_queue, passive=True)
    count = waiting.declaration_result.message_count or 0
    taken = []
    for _ in range(count):
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    return taken


async def list_dead_letters(url: str, topology: Topology) -> list[DeadLetter]:
    connection = await aio_pika.connect(
        url, client_properties={"connection_name": "papertrade-dlq"}
    )
    async with connection:
        channel = await connection.channel()
        return [describe(message) for message in await _take(channel, topology)]


async def replay(url: str, topology: Topology, message_ids: Iterable[str] | None) -> list[str]:
    """Move the dead letters with these message ids (None: all) back to the intake queue, each
    acknowledged in the dead-letter queue only once RabbitMQ has confirmed its copy; the ids
    moved."""
    wanted = None if message_ids is None else set(message_ids)
    moved = []
    connection = await aio_pika.connect(
        url, client_properties={"connection_name": "papertrade-dlq"}
    )
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await amqp_topology.declare(channel, topology)
        for message in await _take(channel, topology):
            if wanted is not None and message.message_id not in wanted:
                continue
            headers = dict(message.headers or {})
            headers.pop("x-death", None)
            replayed = headers.get(REPLAYED_HEADER, 0)
            headers[REPLAYED_HEADER] = (replayed if isinstance(replayed, int) else 0) + 1
            copy = aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                type=message.type,
                message_id=message.message_id,
                app_id=message.app_id,
                timestamp=message.timestamp,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(copy, routing_key=topology.queue, mandatory=True)
            await message.ack()
            moved.append(message.message_id or "-")
    return moved
