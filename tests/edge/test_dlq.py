"""`papertrade dlq list|replay` as an operator runs it, against the real RabbitMQ and daemon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aio_pika
import anyio
import asyncpg
import pytest

from daemon import order_wire
from daemon.amqp_topology import Topology
from daemon.clock import TestClock
from daemon.order_requests import OrderRequest, build_order
from tests.edge.conftest import (
    AMQP_URL,
    BTC,
    Keys,
    assert_books_balance,
    depth,
    new_user,
    running_daemon,
    take_all,
    wait_settled,
)

pytestmark = pytest.mark.anyio


def papertrade(queue: str, *args: str) -> str:
    env = {**os.environ, "PAPERTRADE_AMQP_URL": AMQP_URL, "PAPERTRADE_AMQP_QUEUE": queue}
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "dlq", *args], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


async def test_dead_letters_are_listed_and_replayed_into_the_intake(
    database_url: str, pool: asyncpg.Pool, queue: str, keys: Keys, clock: TestClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Orders dead-lettered unrecorded (as RabbitMQ's delivery limit did before, issue 16 item 2)
    are listed without their token and, replayed, settle; an unreadable letter stays."""
    user = await new_user(pool)
    topology = Topology(queue=queue)
    async with running_daemon(database_url, queue, clock, tmp_path) as platform:
        order = build_order(
            OrderRequest(ticker_id=BTC, side="BUY", quantity="0.01"), user.id,
            platform.instruments, clock.now(),
        )  # fmt: skip
        token = keys.minter.mint(user.id, user.role)
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            for body, message_id in (
                (order_wire.encode(order_wire.placed(order, token)), str(order.id)),
                (b"not an order", "junk-1"),
            ):
                await channel.default_exchange.publish(
                    aio_pika.Message(body, message_id=message_id),
                    routing_key=topology.dead_letter_queue,
                )

        listed = await anyio.to_thread.run_sync(papertrade, queue, "list")
        assert f"{order.id}  dead-lettered" in listed
        assert f"BUY 0.01000000 {BTC} MARKET" in listed
        assert "junk-1" in listed
        assert "unreadable" in listed
        assert token not in listed
        assert "2 dead letter(s)" in listed
        assert await depth(topology.dead_letter_queue) == 2  # listing removes nothing

        replayed = await anyio.to_thread.run_sync(papertrade, queue, "replay", str(order.id))
        assert f"replayed 1 to {queue}: {order.id}" in replayed
        await wait_settled(pool, {order.id})
    await assert_books_balance(pool, [user.id])
    (left,) = await take_all(topology.dead_letter_queue)
    assert left.body == b"not an order"
