"""A real `papertrade run` (single host) under a bounded load of clients while its private
PostgreSQL is made read-only and back, stopped and started, or its disk filled and freed. Throughout: no 500 ever (503 with
Retry-After and a JSON detail instead), readiness 503 during the fault and 200 after, the process
never exits; afterwards, with no restart, every order answered 202 ends FILLED or FAILED exactly
once, none stays PENDING and the books balance."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from daemon.accounts import User
from daemon.clock import LiveClock
from daemon.database import create_pool
from tests.daemon_process import DaemonProcess
from tests.edge.conftest import (
    Keys,
    assert_books_balance,
    buy,
    new_user,
    orders_of,
    sell,
    wait_settled,
)
from tests.faults import PrivatePostgres, fill_disk, small_disk

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
LANES = 8
BEFORE, DURING, AFTER = 3.0, 6.0, 4.0  # seconds of load before, during and after the fault
ANSWERED_WITHIN = 30.0  # a client retrying an order gives up after this long


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:
        yield server


@pytest.fixture
def postgres_on_small_disk() -> Iterator[PrivatePostgres]:
    with contextlib.ExitStack() as stack:
        try:
            disk = stack.enter_context(small_disk(megabytes=256))
        except PermissionError as exc:
            pytest.skip(str(exc))
        yield stack.enter_context(PrivatePostgres(disk / "pg"))


class Load:
    """Clients sending orders, each retrying a 503 with the same client_order_id until it is
    accepted, as a client should; every answer is checked on the way."""

    def __init__(self, client: httpx.AsyncClient, keys: Keys, users: list[User]) -> None:
        self.client = client
        self.keys = keys
        self.users = users
        self.accepted: set[uuid.UUID] = set()
        self.unavailable = 0
        self.wrong: list[str] = []  # answers that break the contract
        self.stop = anyio.Event()

    async def lane(self, lane: int) -> None:
        n = 0
        while not self.stop.is_set():
            user = self.users[(lane + n) % len(self.users)]
            body = sell("0.0001") if n % 5 == 4 else buy("0.0002")
            await self.until_accepted({**body, "client_order_id": f"{lane}-{n}"}, user)
            n += 1
            await anyio.sleep(0.02)

    async def until_accepted(self, body: dict, user: User) -> None:
        deadline = time.monotonic() + ANSWERED_WITHIN
        while time.monotonic() < deadline:
            try:
                response = await self.client.post(
                    "/api/orders", json=body, headers=self.keys.headers(user)
                )
            except httpx.TransportError as exc:
                self.wrong.append(f"no answer: {exc!r}")
                return
            if response.status_code == 202:
                self.accepted.add(uuid.UUID(response.json()["id"]))
                return
            if not self.unavailable_as_promised(response):
                self.wrong.append(f"{response.status_code} {response.text[:200]}")
                return
            self.unavailable += 1
            await anyio.sleep(min(float(response.headers["retry-after"]), 0.5))
        self.wrong.append(f"order {body['client_order_id']} never accepted")

    @staticmethod
    def unavailable_as_promised(response: httpx.Response) -> bool:
        if response.status_code != 503 or "retry-after" not in response.headers:
            return False
        detail = response.json().get("detail", "")
        # Says whether the order was recorded: not, or perhaps (then: retry the same id).
        return "recorded" in detail


class Readiness:
    """/readyz polled throughout: (seconds since start, status) of each answer."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.seen: list[tuple[float, int]] = []
        self.started = time.monotonic()

    async def watch(self, stop: anyio.Event) -> None:
        while not stop.is_set():
            status = (await self.client.get("/readyz")).status_code
            self.seen.append((time.monotonic() - self.started, status))
            await anyio.sleep(0.2)

    def statuses(self, start: float, end: float) -> set[int]:
        return {status for at, status in self.seen if start <= at <= end}


async def until_ready(client: httpx.AsyncClient, seconds: float) -> None:
    with anyio.fail_after(seconds):
        # Polling: readiness is another process's state, which signals nothing here.
        while (await client.get("/readyz")).status_code != 200:  # noqa: ASYNC110
            await anyio.sleep(0.2)


async def survive(
    postgres: PrivatePostgres,
    tmp_path: Path,
    break_it: Callable[[], Awaitable[None]],
    mend_it: Callable[[], Awaitable[None]],
    *,
    always_unready: bool = True,
) -> None:
    """`always_unready`: readiness must be 503 all through the fault (not for a full disk, where
    a write that fits in a page it has may still succeed, and readiness then says so)."""
    url = await postgres.create_database()
    keys = Keys(tmp_path, LiveClock())  # the daemon finds this key pair in its data folder
    daemon = DaemonProcess(tmp_path, url, PAPERTRADE_FEEDS="sim")
    await anyio.to_thread.run_sync(daemon.start)  # migrates the new database
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        users = [await new_user(pool) for _ in range(4)]
        async with httpx.AsyncClient(base_url=daemon.url, timeout=30) as client:
            readiness = Readiness(client)
            await until_ready(client, seconds=20)  # the sim feed's first prices
            load = Load(client, keys, users)
            async with anyio.create_task_group() as tg:
                tg.start_soon(readiness.watch, load.stop)
                for lane in range(LANES):
                    tg.start_soon(load.lane, lane)
                await anyio.sleep(BEFORE)
                broken_at = time.monotonic() - readiness.started
                await break_it()
                await anyio.sleep(DURING)
                await mend_it()
                mended_at = time.monotonic() - readiness.started
                await anyio.sleep(AFTER)
                load.stop.set()
            await until_ready(client, seconds=30)
        assert daemon.proc is not None
        assert daemon.proc.poll() is None, "the daemon exited on the fault"
        assert load.wrong == [], load.wrong[:10]
        assert load.unavailable > 0, "the fault was never seen by a client"
        assert 503 in readiness.statuses(broken_at + 2, mended_at)
        if always_unready:
            assert readiness.statuses(broken_at + 2, mended_at - 1) == {503}

        # Every order recorded was answered 202 (clients retried until it was) and is settled,
        # none PENDING, with no daemon restart: reconciliation picks up any that nobody owned.
        user_ids = [u.id for u in users]
        await wait_settled(pool, load.accepted, seconds=30)
        orders = await orders_of(pool, user_ids)
        assert {o.id for o in orders} == load.accepted
        assert {o.status for o in orders} <= {"FILLED", "FAILED"}
        await assert_books_balance(pool, user_ids)
        events = {
            json.loads(line)["event"]
            for line in daemon.log.read_text().splitlines()
            if line.startswith("{")
        }
        assert events  # the log was read: JSON lines, each with its event
        # The fault is told apart from bugs: no actor crash, no unhandled error, no exit.
        assert not events & {"actor_crashed", "unhandled_error", "restart_budget_exceeded"}
    finally:
        await pool.close()
        await anyio.to_thread.run_sync(daemon.stop)


async def test_postgres_read_only_and_back(postgres: PrivatePostgres, tmp_path: Path) -> None:
    await survive(
        postgres,
        tmp_path,
        lambda: postgres.set_read_only(True),
        lambda: postgres.set_read_only(False),
    )


async def test_postgres_stopped_and_started(postgres: PrivatePostgres, tmp_path: Path) -> None:
    await survive(
        postgres,
        tmp_path,
        lambda: anyio.to_thread.run_sync(postgres.stop),
        lambda: anyio.to_thread.run_sync(postgres.start),
    )


async def test_postgres_disk_full_and_freed(
    postgres_on_small_disk: PrivatePostgres, tmp_path: Path
) -> None:
    postgres = postgres_on_small_disk
    ballast: list[Path] = []

    async def fill() -> None:
        ballast.append(await anyio.to_thread.run_sync(fill_disk, postgres.root.parent))

    async def free() -> None:
        ballast.pop().unlink()
        # A full disk may have stopped PostgreSQL (a WAL write it could not make): start it,
        # as an operator would. The daemon itself needs nothing.
        if not await anyio.to_thread.run_sync(postgres.running):
            await anyio.to_thread.run_sync(postgres.start)

    await survive(postgres, tmp_path, fill, free, always_unready=False)
