"""Issue 9 items 8 and 11: deleted users, revocation on logout and password change, websocket
expiry and revocation, iat/nbf leeway, absurd exp, and 401 details without decoder internals."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import anyio
import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from daemon.accounts import set_password
from daemon.tokens import ISSUER, TokenMinter, load_or_create_private_key
from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
ORDER = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.001"}


def _key(api: Api):  # type: ignore[no-untyped-def]
    return load_or_create_private_key(api.platform.settings.data_dir, None)


async def _me(api: Api, headers: dict[str, str]) -> int:
    return (await api.client.get("/api/me", headers=headers)).status_code


async def test_a_deleted_users_token_is_refused_and_others_trade_on(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    doomed = await api.user("doomed_1")
    other = await api.user("other_1")
    me = (await api.client.get("/api/me", headers=doomed)).json()
    await api.platform.pool.execute("DELETE FROM users WHERE id = $1::uuid", me["id"])
    api.clock.advance(6)  # past the generation cache's 5 s (a deletion from outside the daemon)
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    refused = await api.client.post("/api/orders", json=ORDER, headers=doomed)
    assert refused.status_code == 401
    assert "no longer exists" in refused.json()["detail"]
    # Refused at auth, not only by the orders table's foreign key: a read is refused too.
    listed = await api.client.get("/api/orders", headers=doomed)
    assert listed.status_code == 401
    assert listed.json()["detail"] == "this account no longer exists"
    placed = await api.client.post("/api/orders", json=ORDER, headers=other)
    assert placed.status_code == 202
    assert (await api.settled(other, placed.json()["id"]))["status"] == "FILLED"


async def test_logout_revokes_every_token_of_the_user(api: Api) -> None:
    first = await api.user("leaver_1")
    second = await api.login("leaver_1")
    assert (await api.client.post("/api/auth/logout", headers=first)).status_code == 204
    for headers in (first, second):
        response = await api.client.get("/api/me", headers=headers)
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]
    assert await _me(api, await api.login("leaver_1")) == 200


async def test_a_password_change_revokes_old_tokens(api: Api) -> None:
    old = await api.user("changer_1")
    await set_password(api.platform.pool, "changer_1", "new-password-1")  # as the CLI does
    api.clock.advance(6)  # the CLI is another process: the daemon sees it within 5 s
    assert await _me(api, old) == 401
    assert await _me(api, await api.login("changer_1", "new-password-1")) == 200


async def test_iat_and_nbf_get_leeway_and_absurd_claims_are_401(api: Api) -> None:
    headers = await api.user("clocks_1")
    user_id = (await api.client.get("/api/me", headers=headers)).json()["id"]
    ahead = TokenMinter(_key(api), _shifted(api, seconds=10), timedelta(hours=1))
    assert (
        await _me(api, {"Authorization": f"Bearer {ahead.mint(uuid.UUID(user_id), 'USER')}"}) == 200
    )
    now = int(api.clock.now().timestamp())
    for claims in (
        {"exp": 10**18},
        {"exp": "tomorrow"},
        {"nbf": now + 3600},
        {"gen": "zero"},
        {"sub": "not-a-uuid"},
    ):
        body = {"iss": ISSUER, "sub": user_id, "iat": now, "exp": now + 60, **claims}
        token = jwt.encode(body, _key(api), algorithm="EdDSA")
        response = await api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, claims
    malformed = await api.client.get("/api/me", headers={"Authorization": "Bearer a.b.c"})
    assert malformed.status_code == 401
    detail = malformed.json()["detail"]
    assert detail == "the token is not valid; log in again"


def _shifted(api: Api, seconds: int):  # type: ignore[no-untyped-def]
    from daemon.clock import TestClock

    return TestClock(api.clock.now() + timedelta(seconds=seconds))


async def _closed_with(ws) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async def drain() -> None:
        while True:
            await ws.recv()

    with anyio.fail_after(20), pytest.raises(ConnectionClosed) as closed:
        await drain()
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


@pytest.mark.parametrize("how", ["expiry", "logout"])
async def test_a_websocket_closes_when_its_token_expires_or_is_revoked(api: Api, how: str) -> None:
    headers = await api.user("streamer_1")
    token = headers["Authorization"].split()[1]
    url = api.base_url.replace("http://", "ws://") + "/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"op": "auth", "token": token}))
        with anyio.fail_after(5):
            while json.loads(await ws.recv())["type"] != "auth":
                pass
        if how == "expiry":
            api.clock.advance(86400 + 31)
        else:
            assert (await api.client.post("/api/auth/logout", headers=headers)).status_code == 204
        code, reason = await _closed_with(ws)
    assert code == 1008
    assert ("expired" if how == "expiry" else "revoked") in reason
