"""kill -9 of a real daemon process in the middle of a burst of orders through the edge."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import asyncpg
import pytest

from daemon.amqp_topology import Topology
from daemon.clock import LiveClock
from tests.daemon_process import DaemonProcess
from tests.edge.conftest import (
    AMQP_URL,
    Keys,
    assert_books_balance,
    buy,
    depth,
    new_user,
    orders_of,
    running_edge,
    sell,
    wait_settled,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BURST = 400
KILL_AFTER = 120  # orders accepted


async def test_kill_9_mid_burst_loses_and_duplicates_nothing(
    database_url: str, pool: asyncpg.Pool, queue: str, tmp_path: Path
) -> None:
    clock = LiveClock()
    keys = Keys(tmp_path, clock)  # the daemon finds this key pair in its data folder
    users = [await new_user(pool) for _ in range(4)]
    daemon = DaemonProcess(
        tmp_path, database_url, PAPERTRADE_AMQP_URL=AMQP_URL, PAPERTRADE_AMQP_QUEUE=queue,
        PAPERTRADE_FEEDS="sim",
    )  # fmt: skip
    accepted: set[uuid.UUID] = set()
    at_kill: dict[str, int] = {}

    async def settled() -> int:
        return await pool.fetchval(
            "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'",
            list(accepted),
        )

    async def poster(edge, lane: int) -> None:  # type: ignore[no-untyped-def]
        for n in range(lane, BURST, 16):
            user = users[n % len(users)]
            body = sell("0.0001") if n % 5 == 4 else buy("0.0002")
            response = await edge.post(body, keys.headers(user))
            assert response.status_code == 202, response.text
            accepted.add(uuid.UUID(response.json()["id"]))

    async def killer() -> None:
        with anyio.fail_after(60):
            while len(accepted) < KILL_AFTER or await settled() < 20:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        daemon.kill()
        at_kill["accepted"] = len(accepted)

    await anyio.to_thread.run_sync(daemon.start)
    try:
        async with running_edge(queue, keys, clock) as edge:
            async with anyio.create_task_group() as tg:
                tg.start_soon(killer)
                for lane in range(16):
                    tg.start_soon(poster, edge, lane)
            # Killed while it was settling the burst, which went on while it was dead.
            assert KILL_AFTER <= at_kill["accepted"] < len(accepted) == BURST
            await anyio.to_thread.run_sync(daemon.start)
            await wait_settled(pool, accepted, seconds=60)
    finally:
        daemon.stop()
    orders = await orders_of(pool, [u.id for u in users])
    assert {o.id for o in orders} == accepted  # none lost, none made up
    assert {o.status for o in orders} <= {"FILLED", "FAILED"}
    assert all(o.reason == "insufficient_quantity" for o in orders if o.status == "FAILED")
    await assert_books_balance(pool, [u.id for u in users])
    assert await depth(queue) == 0
    assert await depth(Topology(queue=queue).dead_letter_queue) == 0
