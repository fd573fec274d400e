"""While the database is away (read-only, stopped) every route answers 503 with Retry-After and a
JSON detail, never a 500 or a hang; a cancellation settlement could not record says so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from daemon.clock import TestClock
from tests.api.conftest import Api, start_api
from tests.conftest import KRX_OPEN, quote
from tests.faults import PrivatePostgres

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BTC = "CRYPTO-COIN-BTC"
RESTING_BUY = {
    "ticker_id": BTC, "side": "BUY", "type": "LIMIT", "quantity": "0.001",
    "limit_price": "100000000",
}  # fmt: skip


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:
        yield server


@pytest.fixture
async def api(postgres: PrivatePostgres, tmp_path: Path) -> AsyncIterator[Api]:
    clock = TestClock(KRX_OPEN)
    url = await postgres.create_database()
    async with await start_api(url, tmp_path, clock) as platform, anyio.create_task_group() as tg:
        tg.start_soon(platform.serve)
        assert platform.http is not None
        with anyio.fail_after(10):
            await platform.http.serving.wait()
        clock.advance(11)  # past the start-up grace
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{platform.http.port}", timeout=10
        ) as client:
            yield Api(platform, client, clock)
        tg.cancel_scope.cancel()


def assert_unavailable(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    detail = response.json()["detail"]
    assert all(word in detail for word in words), detail


async def until(api: Api, method: str, path: str, status: int, **kwargs: object) -> httpx.Response:
    with anyio.fail_after(20):
        while True:
            response = await api.client.request(method, path, **kwargs)  # type: ignore[arg-type]
            if response.status_code == status:
                return response
            assert response.status_code == 503, response.text
            await anyio.sleep(0.1)


async def test_a_cancel_settlement_cannot_record_is_503_then_works(
    api: Api, postgres: PrivatePostgres
) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    headers = await api.user()
    order = (await api.client.post("/api/orders", json=RESTING_BUY, headers=headers)).json()
    with anyio.fail_after(10):
        while sum(a.resting_orders for a in api.platform.settlement) < 1:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    await postgres.set_read_only(True)
    refused = await api.client.delete(f"/api/orders/{order['id']}", headers=headers)
    assert_unavailable(refused, "could not be recorded", "as it was")
    await postgres.set_read_only(False)
    # Settlement waited the fault out and took the order up again: now it cancels.
    cancelled = await until(api, "DELETE", f"/api/orders/{order['id']}", 200, headers=headers)
    assert cancelled.json()["status"] == "CANCELLED"


async def test_every_route_answers_503_while_the_database_is_stopped(
    api: Api, postgres: PrivatePostgres
) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    headers = await api.user()
    await anyio.to_thread.run_sync(postgres.stop)
    try:
        assert_unavailable(await api.client.get("/api/orders", headers=headers), "unavailable")
        assert_unavailable(await api.client.get("/api/portfolio", headers=headers), "unavailable")
        placed = await api.client.post("/api/orders", json=RESTING_BUY, headers=headers)
        assert_unavailable(placed, "recorded")  # refused at auth or at the INSERT: not recorded
        ready = await api.client.get("/readyz")
        assert ready.status_code == 503
        assert int(ready.headers["retry-after"]) > 0  # a dependency is down: when to look again
        assert ready.json()["database"] is False
        metrics = (await api.client.get("/metrics")).text
        assert "papertrade_database_writable 0.0" in metrics
    finally:
        await anyio.to_thread.run_sync(postgres.start)
    await until(api, "GET", "/api/orders", 200, headers=headers)
    await until(api, "GET", "/readyz", 200)
