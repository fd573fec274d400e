"""SIGTERM or SIGINT in the middle of a burst: the daemon stops accepting, answers every request
it has (JSON, never uvicorn's plain-text 500), exits 0 within a bound, nothing is half-written,
and every accepted order is settled exactly once after the restart."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from daemon.clock import LiveClock
from tests.daemon_process import DaemonProcess
from tests.edge.conftest import Keys, assert_books_balance, buy, new_user, sell, wait_settled

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BURST = 600
LANES = 32


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_mid_burst_drains_and_loses_nothing(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path, signum: signal.Signals
) -> None:
    keys = Keys(tmp_path, LiveClock())
    users = [await new_user(pool) for _ in range(4)]
    daemon = DaemonProcess(tmp_path, database_url, PAPERTRADE_FEEDS="sim")
    await anyio.to_thread.run_sync(daemon.start)
    accepted: set[uuid.UUID] = set()
    stopped = anyio.Event()
    stopping = anyio.Event()
    exit_code: list[int] = []

    answers: list[tuple[int, str]] = []  # (status, content type) of every answer after the stop

    async def poster(client: httpx.AsyncClient, lane: int) -> None:
        for n in range(lane, BURST, LANES):
            body = sell("0.0001") if n % 5 == 4 else buy("0.0002")
            try:
                response = await client.post(
                    "/api/orders", json=body, headers=keys.headers(users[n % len(users)])
                )
            except httpx.TransportError:
                return  # refused, or an idle connection closed: never read, never accepted
            if exit_code or stopping.is_set():
                answers.append((response.status_code, response.headers.get("content-type", "")))
            if response.status_code != 202:
                assert response.status_code == 503, response.text
                return
            accepted.add(uuid.UUID(response.json()["id"]))

    async def terminator() -> None:
        while len(accepted) < BURST // 3:  # noqa: ASYNC110 - watching the posters' progress
            await anyio.sleep(0.005)
        started = time.monotonic()
        stopping.set()
        exit_code.append(await anyio.to_thread.run_sync(daemon.stop, 20, signum))
        exit_code.append(int(time.monotonic() - started))
        stopped.set()

    async with httpx.AsyncClient(base_url=daemon.url, timeout=10) as client:
        await anyio.sleep(2)  # the sim feed's first prices
        async with anyio.create_task_group() as tg:
            tg.start_soon(terminator)
            for lane in range(LANES):
                tg.start_soon(poster, client, lane)
    await stopped.wait()
    assert exit_code[0] == 0, daemon.log.read_text()[-3000:]
    assert exit_code[1] < 15  # seconds to drain and stop
    assert len(accepted) >= BURST // 3
    # In flight when the signal came: answered, in JSON (202 recorded, or 503), none cut off.
    assert answers, "no request was in flight at the stop"
    assert all(ctype.startswith("application/json") for _, ctype in answers), answers
    assert {status for status, _ in answers} <= {202, 503}

    # Whatever was in flight committed or rolled back whole: the books balance right now.
    user_ids = [u.id for u in users]
    await assert_books_balance(pool, user_ids)

    await anyio.to_thread.run_sync(daemon.start)  # the accepted-but-unsettled are picked up
    try:
        # Every order recorded (answered 202 or cut off just after its commit) ends settled.
        recorded = await pool.fetch(
            "SELECT id FROM orders WHERE user_id = ANY($1::uuid[])", user_ids
        )
        assert accepted <= {row["id"] for row in recorded}
        await wait_settled(pool, {row["id"] for row in recorded}, seconds=30)
        await assert_books_balance(pool, user_ids)
    finally:
        assert await anyio.to_thread.run_sync(daemon.stop) == 0


async def test_ctrl_c_pressed_twice_still_drains_and_exits_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    """A second SIGINT during the drain is logged, not a KeyboardInterrupt traceback."""
    daemon = DaemonProcess(tmp_path, database_url, PAPERTRADE_FEEDS="sim")
    await anyio.to_thread.run_sync(daemon.start)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGINT)
    await anyio.sleep(0.05)
    assert await anyio.to_thread.run_sync(daemon.stop, 30, signal.SIGINT) == 0
    log = daemon.log.read_text()
    assert "shutdown_requested" in log
    assert "Traceback" not in log
    assert "KeyboardInterrupt" not in log
