"""The code declares exactly the topology of ops/rabbitmq/definitions.json, or RabbitMQ refuses."""

from __future__ import annotations

import json
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import ChannelPreconditionFailed

from daemon.amqp_topology import DEAD_LETTER_EXCHANGE, Topology, declare
from tests.edge.conftest import AMQP_URL

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
    assert intake["arguments"] == topology.queue_arguments()
    dead_letters = _named("queues", topology.dead_letter_queue)
    assert dead_letters["durable"]
    assert dead_letters["arguments"] == {"x-queue-type": "quorum"}
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
    imported = _named("queues", "orders.intake")["arguments"] | {
        "x-dead-letter-routing-key": topology.dead_letter_queue
    }
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True, arguments=imported)
        declared = await declare(channel, topology)
        assert declared.name == queue
        with pytest.raises(ChannelPreconditionFailed):
            await channel.declare_queue(
                queue, durable=True, arguments=imported | {"x-delivery-limit": 6}
            )
