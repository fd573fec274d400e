"""Seasons over HTTP (ADMIN creation, listing, joining, standings) and who sees whose book."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from daemon.accounts import set_role
from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


def _season(api: Api, **rules: object) -> dict:
    now = api.clock.now()
    return {
        "name": "12월 리그",
        "starts_at": (now + timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "initial_cash_krw": "5000000",
        "markets": ["CRYPTO", "KRX"],
        **rules,
    }


async def _admin(api: Api) -> dict[str, str]:
    headers = await api.user("league_admin")
    await set_role(api.platform.pool, "league_admin", "ADMIN")
    return headers


async def _status(api: Api, season_id: str, status: str) -> dict:
    with anyio.fail_after(10):
        while True:
            season = (await api.client.get(f"/api/seasons/{season_id}")).json()
            if season["season"]["status"] == status:
                return season
            await anyio.sleep(0.05)


async def test_admins_create_seasons_and_players_join(api: Api) -> None:
    admin = await _admin(api)
    player = await api.user("joiner")
    assert (
        await api.client.post("/api/admin/seasons", json=_season(api), headers=player)
    ).status_code == 403
    bad = await api.client.post(
        "/api/admin/seasons", json=_season(api, markets=["NASDAQ"]), headers=admin
    )
    assert bad.status_code == 400
    assert "markets" in bad.json()["detail"]
    created = await api.client.post("/api/admin/seasons", json=_season(api), headers=admin)
    assert created.status_code == 201, created.text
    season = created.json()
    assert season["markets"] == ["KRX", "CRYPTO"]
    assert season["status"] == "scheduled"
    overlap = await api.client.post("/api/admin/seasons", json=_season(api), headers=admin)
    assert overlap.status_code == 409
    joined = await api.client.post(f"/api/seasons/{season['id']}/join", headers=player)
    assert joined.json()["joined"] is True
    again = await api.client.post(f"/api/seasons/{season['id']}/join", headers=player)
    assert again.json()["joined"] is False
    assert (await api.client.get("/api/me/seasons", headers=player)).json() == [season["id"]]
    assert (await api.client.get("/api/me/seasons", headers=admin)).json() == []
    listed = (await api.client.get("/api/seasons")).json()
    assert [(s["id"], s["participants"]) for s in listed] == [(season["id"], 1)]
    assert (await api.client.get(f"/api/seasons/{season['id']}")).json()["standings"] == []
    missing = await api.client.get("/api/seasons/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404

    api.clock.advance(61)
    running = await _status(api, season["id"], "running")
    [row] = running["standings"]
    assert row["nickname"] == "joiner"
    assert row["equity_krw"] == "5000000.00000000"
    board = (await api.client.get("/api/rankings", params={"period": "season"})).json()
    assert [r["nickname"] for r in board if not r["benchmark"]] == ["joiner"]
    api.clock.advance(3600)
    ended = await _status(api, season["id"], "ended")
    assert [r["nickname"] for r in ended["standings"]] == ["joiner"]
    late = await api.client.post(f"/api/seasons/{season['id']}/join", headers=player)
    assert late.status_code == 409


async def test_no_holdings_or_trades_leak_before_the_end(api: Api) -> None:
    admin = await _admin(api)
    trader = await api.user("secretive")
    viewer = await api.user("curious")
    trader_id = (await api.client.get("/api/me", headers=trader)).json()["id"]
    shared = await api.client.patch("/api/me/settings", json={"share_trades": True}, headers=trader)
    assert shared.json()["share_trades"] is True
    season = (await api.client.post(
        "/api/admin/seasons", json=_season(api, portfolio_visibility="after_end"), headers=admin
    )).json()  # fmt: skip
    await api.client.post(f"/api/seasons/{season['id']}/join", headers=trader)
    api.clock.advance(61)
    await _status(api, season["id"], "running")
    api.platform.book.update(quote(api.clock, BTC, "100000000"))
    order = (await api.client.post(
        "/api/orders", json={"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        headers=trader,
    )).json()  # fmt: skip
    assert (await api.settled(trader, order["id"]))["status"] == "FILLED"

    seen = (await api.client.get(f"/api/users/{trader_id}", headers=viewer)).json()
    assert seen["holdings_visible"] is False
    assert seen["holdings"] == []
    assert seen["recent_trades"] == []
    assert (await api.client.get("/api/feed", headers=viewer)).json() == []
    own = (await api.client.get(f"/api/users/{trader_id}", headers=trader)).json()
    assert [h["ticker_id"] for h in own["holdings"]] == [BTC]
    assert seen["season"]["user_id"] == trader_id  # the standing is public, the book is not

    api.clock.advance(3600)
    await _status(api, season["id"], "ended")
    after = (await api.client.get(f"/api/users/{trader_id}", headers=viewer)).json()
    assert [h["ticker_id"] for h in after["holdings"]] == [BTC]
    assert [t["id"] for t in after["recent_trades"]] == [order["id"]]
    assert [t["id"] for t in (await api.client.get("/api/feed", headers=viewer)).json()] == [
        order["id"]
    ]
    assert [(h["name"], h["rank"]) for h in after["hall_of_fame"]] == [("12월 리그", 1)]


async def test_a_delayed_season_shows_trades_15_minutes_late(api: Api) -> None:
    admin = await _admin(api)
    trader = await api.user("delayed")
    viewer = await api.user("watcher")
    await api.client.patch("/api/me/settings", json={"share_trades": True}, headers=trader)
    season = (await api.client.post(
        "/api/admin/seasons", json=_season(api, portfolio_visibility="delayed_15m"), headers=admin
    )).json()  # fmt: skip
    await api.client.post(f"/api/seasons/{season['id']}/join", headers=trader)
    api.clock.advance(61)
    await _status(api, season["id"], "running")
    api.platform.book.update(quote(api.clock, BTC, "100000000"))
    order = (await api.client.post(
        "/api/orders", json={"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        headers=trader,
    )).json()  # fmt: skip
    await api.settled(trader, order["id"])
    assert (await api.client.get("/api/feed", headers=viewer)).json() == []
    api.clock.advance(15 * 60)
    assert [t["id"] for t in (await api.client.get("/api/feed", headers=viewer)).json()] == [
        order["id"]
    ]


async def test_settings_refuse_a_taken_nickname(api: Api) -> None:
    await api.user("taken_nick")
    me = await api.user()
    clash = await api.client.patch("/api/me/settings", json={"nickname": "TAKEN_NICK"}, headers=me)
    assert clash.status_code == 409
    renamed = await api.client.patch("/api/me/settings", json={"nickname": "새 이름"}, headers=me)
    assert renamed.json()["nickname"] == "새 이름"
    assert renamed.json()["share_trades"] is False
