"""A running daemon with its HTTP API on a free loopback port, and an HTTP client for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

from daemon.clock import TestClock
from daemon.config import load_settings
from daemon.platform import Platform, open_platform
from tests.conftest import KRX_OPEN


class Api:
    def __init__(self, platform: Platform, client: httpx.AsyncClient, clock: TestClock) -> None:
        self.platform = platform
        self.client = client
        self.clock = clock

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    async def user(self, name: str | None = None) -> dict[str, str]:
        """Sign up a fresh user and return its auth headers."""
        name = name or "u" + uuid.uuid4().hex[:10]
        response = await self.client.post(
            "/api/auth/signup", json={"username": name, "password": "password123", "nickname": name}
        )
        assert response.status_code == 201, response.text
        return await self.login(name)

    async def login(self, name: str, password: str = "password123") -> dict[str, str]:
        response = await self.client.post(
            "/api/auth/login", json={"username": name, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def settled(self, headers: dict[str, str], order_id: str, timeout: float = 10) -> dict:
        with anyio.fail_after(timeout):
            while True:
                order = (await self.client.get(f"/api/orders/{order_id}", headers=headers)).json()
                if order["status"] != "PENDING":
                    return order
                await anyio.sleep(0.02)


async def start_api(database_url: str, tmp_path, clock: TestClock, **env: str):  # type: ignore[no-untyped-def]
    settings = load_settings(
        {
            "PAPERTRADE_DATABASE_URL": database_url,
            "PAPERTRADE_FEEDS": "none",
            "PAPERTRADE_HTTP_PORT": "0",
            "PAPERTRADE_DATA_DIR": str(tmp_path),
            "PAPERTRADE_SIGNUP_RATE": "1000 per minute",  # tests sign up many users from 127.0.0.1
            **env,
        }
    )
    return open_platform(settings, clock, http=True)


@asynccontextmanager
async def running_api(database_url: str, tmp_path, **env: str) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    """A daemon (HTTP on a free loopback port, test clock) with extra PAPERTRADE_* `env`."""
    clock = TestClock(KRX_OPEN)
    async with (
        await start_api(database_url, tmp_path, clock, **env) as platform,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(platform.serve)
        assert platform.http is not None
        with anyio.fail_after(10):
            await platform.http.serving.wait()
            for actor in platform.settlement:
                await actor.ready.wait()
        clock.advance(11)  # past the start-up grace: missing prices fail at once
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{platform.http.port}", timeout=10
        ) as client:
            yield Api(platform, client, clock)
        tg.cancel_scope.cancel()


@pytest.fixture
async def api(database_url: str, tmp_path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    async with running_api(database_url, tmp_path) as api:
        yield api
