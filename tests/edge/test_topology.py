"""The code declares exactly the topology of ops/rabbitmq/definitions.json, or RabbitMQ refuses;
and no delivery count drops a message, on the broker of these tests as on the deployed 4.x."""

from __future__ import annotations

import json
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import ChannelPreconditionFailed

from daemon.amqp_topology import (
    DEAD_LETTER_EXCHANGE,
    Topology,
    TopologyMismatch,
    broker_major,
    declare,
)
from tests.edge.conftest import AMQP_URL, depth, take_all

pytestmark = pytest.mark.anyio
DEFINITIONS = json.loads(
    (Path(__file__).resolve().parents[2] / "ops" / "rabbitmq" / "definitions.json").read_text()
)


def _named(kind: str, name: str) -> dict:
    return next(item for item in DEFINITIONS[kind] if item["name"] == name)


def test_the_code_and_the_definitions_file_agree() -> None:
    topology = Topology()
    intake = _named("queues", topology.queue)
    assert intake["durable"]
    assert not intake["auto_delete"]
    # The definitions are for the RabbitMQ 4.x of ops/edge/compose.yaml.
    assert intake["arguments"] == topology.queue_arguments(4)
    assert intake["arguments"]["x-delivery-limit"] == -1  # 4.x: no limit (its default is 20)
    dead_letters = _named("queues", topology.dead_letter_queue)
    assert dead_letters["durable"]
    assert dead_letters["arguments"] == topology.dead_letter_queue_arguments(4)
    assert "x-delivery-limit" not in topology.queue_arguments(3)  # 3.x: -1 means "none at all"
    exchange = _named("exchanges", DEAD_LETTER_EXCHANGE)
    assert (exchange["type"], exchange["durable"], exchange["auto_delete"]) == (
        "direct",
        True,
        False,
    )
    assert {
        "source": DEAD_LETTER_EXCHANGE,
        "vhost": "/",
        "destination": topology.dead_letter_queue,
        "destination_type": "queue",
        "routing_key": topology.dead_letter_queue,
        "arguments": {},
    } in DEFINITIONS["bindings"]


async def test_declaring_over_the_imported_definitions_is_accepted(queue: str) -> None:
    """Queues created as the definitions file creates them (under this test's names) are
    declared again by our code without PRECONDITION_FAILED; different arguments are refused."""
    topology = Topology(queue=queue)
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        major = await broker_major(channel)
        imported = topology.queue_arguments(major)
        if major >= 4:
            assert imported == _named("queues", "orders.intake")["arguments"] | {
                "x-dead-letter-routing-key": topology.dead_letter_queue
            }
        await channel.declare_queue(queue, durable=True, arguments=imported)
        declared = await declare(channel, topology)
        assert declared.name == queue
        with pytest.raises(ChannelPreconditionFailed):
            await channel.declare_queue(
                queue, durable=True, arguments=imported | {"x-delivery-limit": 5}
            )
    older = Topology(queue=queue + ".old")
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(older.queue, durable=True, arguments=imported | {
            "x-delivery-limit": 5, "x-dead-letter-routing-key": older.dead_letter_queue
        })  # fmt: skip
        try:
            with pytest.raises(TopologyMismatch, match=r"docs/operations\.md"):
                await declare(await connection.channel(), older)
        finally:
            channel = await connection.channel()
            for name in (older.queue, older.dead_letter_queue):
                await channel.queue_delete(name)


async def test_no_number_of_returns_dead_letters_a_message(queue: str) -> None:
    """Returned (nacked, or left by a consumer that died) many more times than any default
    limit, a message stays in the intake queue; only the daemon dead-letters."""
    topology = Topology(queue=queue)
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        intake = await declare(channel, topology)
        await channel.default_exchange.publish(aio_pika.Message(b"order"), routing_key=queue)
        for _ in range(25):
            message = await intake.get(timeout=5)
            await message.nack(requeue=True)
    assert await depth(topology.dead_letter_queue) == 0
    (kept,) = await take_all(queue)
    assert kept.body == b"order"
