"""Shared fixtures: real PostgreSQL databases made fresh per test from a migrated template."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from daemon.database import create_pool
from daemon.migrate import migrate

ADMIN_URL = os.environ.get("PAPERTRADE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RUN_ID = uuid.uuid4().hex[:8]


def db_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(anyio_backend: str) -> AsyncIterator[str]:
    """A database with every migration applied, copied for each test."""
    name = f"pt_tmpl_{RUN_ID}"
    await _admin(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(db_url(name))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield name
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own, dropped afterwards."""
    name = f"pt_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield db_url(name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own, so runs never collide."""
    return f"pt-test-{RUN_ID}-{uuid.uuid4().hex[:8]}:"


# --- a running platform on the test's own database, with a clock the test controls ---

from contextlib import asynccontextmanager  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from decimal import Decimal  # noqa: E402

import anyio  # noqa: E402

from daemon.clock import TestClock  # noqa: E402
from daemon.config import load_settings  # noqa: E402
from daemon.messages import FxRate, Quote  # noqa: E402
from daemon.platform import Platform, open_platform  # noqa: E402

# Wednesday 2026-11-25 10:00 KST: KRX open, NYSE closed, crypto always open.
KRX_OPEN = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
# Wednesday 2026-11-25 10:00 New York: NYSE open, KRX closed.
US_OPEN = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@asynccontextmanager
async def running_platform(database_url: str, clock: TestClock, **env: str):
    settings = load_settings(
        {"PAPERTRADE_DATABASE_URL": database_url, "PAPERTRADE_FEEDS": "none", **env}
    )
    async with open_platform(settings, clock) as platform, anyio.create_task_group() as tg:
        tg.start_soon(platform.serve)
        for actor in platform.settlement:
            await actor.ready.wait()
        try:
            yield platform
        finally:
            tg.cancel_scope.cancel()


def quote(
    clock: TestClock, ticker_id: str, price: str, bid: str | None = None, ask: str | None = None,
    currency: str = "KRW-COIN",
) -> Quote:  # fmt: skip
    now = clock.now()
    return Quote(
        ticker_id=ticker_id,
        price=Decimal(price),
        bid=None if bid is None else Decimal(bid),
        ask=None if ask is None else Decimal(ask),
        currency=currency,
        ts=now,
        received_at=now,
        source="test",
    )


async def tick(platform: Platform, data: Quote) -> None:
    """Publish `data` through the market hub, as a feeder does (it wakes resting orders), and
    wait until the price book has it."""
    await platform.market_in.send(data)
    with anyio.fail_after(10):
        while platform.book.quote(data.ticker_id) != data:  # noqa: ASYNC110
            await anyio.sleep(0.005)


def usd_krw(clock: TestClock, rate: str) -> FxRate:
    now = clock.now()
    return FxRate(pair="USD/KRW", rate=Decimal(rate), ts=now, received_at=now, source="test")


__all__ = ["KRX_OPEN", "US_OPEN", "Platform", "quote", "running_platform", "tick", "usd_krw"]
