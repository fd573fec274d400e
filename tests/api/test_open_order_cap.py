"""Issue 9 item 13: a user cannot rest more than PAPERTRADE_MAX_OPEN_ORDERS open orders (limit
and stop orders alike)."""

from __future__ import annotations

import pytest

from tests.api.conftest import running_api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


async def test_orders_past_the_cap_fail_with_a_reason(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with running_api(database_url, tmp_path, PAPERTRADE_MAX_OPEN_ORDERS="3") as api:
        api.platform.book.update(quote(api.clock, BTC, "150000000"))
        greedy = await api.user("greedy_1")
        modest = await api.user("modest_1")
        body = {"ticker_id": BTC, "side": "BUY", "type": "LIMIT", "quantity": "0.001",
                "limit_price": "10000000"}  # fmt: skip
        placed = [
            (await api.client.post("/api/orders", json=body, headers=greedy)).json()
            for _ in range(5)
        ]
        outcomes = []
        for order in placed:
            got = await api.client.get(f"/api/orders/{order['id']}", headers=greedy)
            outcomes.append(got.json())
        statuses = [(o["status"], o["reason"]) for o in outcomes]
        # The first three rest (PENDING); the rest fail at once with the cap's reason.
        for order in placed[3:]:
            assert (await api.settled(greedy, order["id"]))["reason"] == "too_many_open_orders"
        assert [s for s, _ in statuses[:3]] == ["PENDING"] * 3, statuses
        assert (
            api.platform.settlement[0].resting_orders
            + sum(a.resting_orders for a in api.platform.settlement[1:])
            == 3
        )
        # Someone else is not affected, and cancelling one makes room again.
        other = await api.client.post("/api/orders", json=body, headers=modest)
        assert (await api.client.get(f"/api/orders/{other.json()['id']}", headers=modest)).json()[
            "status"
        ] == "PENDING"
        cancelled = await api.client.delete(f"/api/orders/{placed[0]['id']}", headers=greedy)
        assert cancelled.status_code == 200
        again = (await api.client.post("/api/orders", json=body, headers=greedy)).json()
        over = (await api.client.post("/api/orders", json=body, headers=greedy)).json()
        assert (await api.settled(greedy, over["id"]))["reason"] == "too_many_open_orders"
        got = (await api.client.get(f"/api/orders/{again['id']}", headers=greedy)).json()
        assert got["status"] == "PENDING"  # settled before `over`, in the room the cancel made
        # A stop order rests too: it counts against the same cap.
        stop = {"ticker_id": BTC, "side": "BUY", "type": "STOP", "quantity": "0.001",
                "stop_price": "160000000"}  # fmt: skip
        stopped = (await api.client.post("/api/orders", json=stop, headers=greedy)).json()
        assert (await api.settled(greedy, stopped["id"]))["reason"] == "too_many_open_orders"
        resting_stop = (await api.client.post("/api/orders", json=stop, headers=modest)).json()
        got = (await api.client.get(f"/api/orders/{resting_stop['id']}", headers=modest)).json()
        assert got["status"] == "PENDING"
        reasons = (await api.client.get("/api/reasons")).json()
        assert "too_many_open_orders" in json_codes(reasons)


def json_codes(reasons: object) -> set[str]:
    if isinstance(reasons, dict):
        return set(reasons)
    assert isinstance(reasons, list)
    return {r["code"] for r in reasons}
