"""The feed live on the websocket (SPEC 6C): a fill of a player who shows their trades now goes
to every other signed-in client as a `feed` message; hidden and delayed ones do not.

A fill that must not arrive is checked by a later one that must: the hub sends the feed in the
order of the fills, so the first feed message a viewer gets after both tells which went out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import pytest
import websockets

from daemon.api.ws_feed import FeedSights
from tests.api.conftest import Api
from tests.api.test_seasons_api import _admin, _season, _status
from tests.api.test_websocket import next_of, ws_url
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


@asynccontextmanager
async def signed_in(
    api: Api, headers: dict[str, str]
) -> AsyncIterator[websockets.ClientConnection]:
    async with websockets.connect(ws_url(api)) as ws:
        await ws.send(json.dumps({"op": "auth", "token": headers["Authorization"].split()[1]}))
        assert (await next_of(ws, "auth"))["ok"] is True
        yield ws


async def share(api: Api, headers: dict[str, str], on: bool = True) -> None:
    answer = await api.client.patch("/api/me/settings", json={"share_trades": on}, headers=headers)
    assert answer.json()["share_trades"] is on


async def buy(api: Api, headers: dict[str, str]) -> str:
    """A filled market BUY of `headers`' user: its id."""
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    order = (await api.client.post("/api/orders", json=body, headers=headers)).json()
    assert (await api.settled(headers, order["id"]))["status"] == "FILLED"
    return order["id"]


async def test_a_sharing_players_fill_arrives_live_and_its_owner_gets_an_order_event(
    api: Api,
) -> None:
    trader = await api.user("sharer")
    viewer = await api.user("friend")
    await share(api, trader)
    async with signed_in(api, viewer) as ws_viewer, signed_in(api, trader) as ws_trader:
        order_id = await buy(api, trader)
        live = await next_of(ws_viewer, "feed")
        [listed] = (await api.client.get("/api/feed", headers=viewer)).json()
        assert live["trade"] == listed  # the same item as GET /api/feed
        assert live["trade"]["id"] == order_id
        assert live["trade"]["nickname"] == "sharer"
        assert (live["trade"]["side"], live["trade"]["quantity"]) == ("BUY", "0.00100000")
        own = [await next_of(ws_trader, "order"), await next_of(ws_trader, "order")]
        assert [m["order"]["status"] for m in own] == ["PENDING", "FILLED"]
        await ws_trader.send(json.dumps({"op": "ping"}))
        # The owner's next message is the pong: their own fill came as an order event only.
        assert json.loads(await ws_trader.recv())["type"] == "pong"


async def test_sharing_turned_off_and_on_counts_from_the_next_fill(api: Api) -> None:
    trader = await api.user("changeable")
    marker = await api.user("marker")
    viewer = await api.user("onlooker")
    await share(api, trader)
    await share(api, marker)
    async with signed_in(api, viewer) as ws:
        first = await buy(api, trader)
        assert (await next_of(ws, "feed"))["trade"]["id"] == first
        await share(api, trader, on=False)
        await buy(api, trader)
        marked = await buy(api, marker)
        assert (await next_of(ws, "feed"))["trade"]["id"] == marked  # the hidden fill never came
        renamed = await api.client.patch(
            "/api/me/settings", json={"share_trades": True, "nickname": "renamed"}, headers=trader
        )
        assert renamed.status_code == 200
        again = await buy(api, trader)
        live = (await next_of(ws, "feed"))["trade"]
        assert (live["id"], live["nickname"]) == (again, "renamed")


@pytest.mark.parametrize(
    ("visibility", "live_in_season"),
    [("live", True), ("delayed_15m", False), ("after_end", False), ("private", False)],
)
async def test_a_seasons_visibility_decides_from_its_start_to_its_end(
    api: Api, visibility: str, live_in_season: bool
) -> None:
    admin = await _admin(api)
    trader = await api.user("player")
    marker = await api.user("freeplay")
    viewer = await api.user("spectator")
    await share(api, trader)
    await share(api, marker)
    season = (
        await api.client.post(
            "/api/admin/seasons", json=_season(api, portfolio_visibility=visibility), headers=admin
        )
    ).json()
    await api.client.post(f"/api/seasons/{season['id']}/join", headers=trader)
    async with signed_in(api, viewer) as ws:
        before = await buy(api, trader)  # free play still: live, and its sight cached
        assert (await next_of(ws, "feed"))["trade"]["id"] == before

        api.clock.advance(61)
        await _status(api, season["id"], "running")
        during = await buy(api, trader)
        marked = await buy(api, marker)
        expected = [during, marked] if live_in_season else [marked]
        assert [(await next_of(ws, "feed"))["trade"]["id"] for _ in expected] == expected

        api.clock.advance(3600)
        await _status(api, season["id"], "ended")
        after = await buy(api, trader)
        assert (await next_of(ws, "feed"))["trade"]["id"] == after


async def test_sights_are_cached_per_player_until_forgotten(api: Api) -> None:
    pool = api.platform.pool
    sights = FeedSights(pool, size=2)
    ids = []
    for name in ("cached_a", "cached_b", "cached_c"):
        headers = await api.user(name)
        ids.append(UUID((await api.client.get("/api/me", headers=headers)).json()["id"]))
    a, b, c = ids
    assert (await sights.of(a)).live is False
    await pool.execute(
        "INSERT INTO user_settings (user_id, share_trades) VALUES ($1, true)", a
    )  # behind the cache's back
    assert (await sights.of(a)).live is False  # cached: no look-up
    sights.forget([a])
    assert (await sights.of(a)).live is True
    await sights.of(b)
    await sights.of(c)  # a is the least recently used of three: dropped
    assert len(sights) == 2
    await pool.execute("UPDATE user_settings SET share_trades = false WHERE user_id = $1", a)
    assert (await sights.of(a)).live is False  # looked up again
