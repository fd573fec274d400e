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
    yield f"pt-test-{RUN_ID}-{uuid.uuid4().hex[:8]}:"
