"""Sign-up, login, /api/me, token expiry and tampering, login rate limits, roles and invites."""

from __future__ import annotations

import base64
import json

import pytest

from daemon.accounts import set_role
from tests.api.conftest import Api, start_api

pytestmark = pytest.mark.anyio


async def test_signup_login_me(api: Api) -> None:
    created = await api.client.post(
        "/api/auth/signup",
        json={"username": "alice_1", "password": "password123", "nickname": "앨리스"},
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "username", "nickname", "role"}
    assert (body["username"], body["nickname"], body["role"]) == ("alice_1", "앨리스", "USER")

    login = await api.client.post(
        "/api/auth/login", json={"username": "alice_1", "password": "password123"}
    )
    assert login.status_code == 200
    token = login.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 86400
    me = await api.client.get(
        "/api/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json() == body
    wallet = await api.platform.pool.fetchval(
        "SELECT balance_krw FROM wallets WHERE user_id = $1::uuid", body["id"]
    )
    assert str(wallet) == "10000000.00000000"


async def test_username_taken_is_409(api: Api) -> None:
    payload = {"username": "bob_1", "password": "password123", "nickname": "Bob"}
    assert (await api.client.post("/api/auth/signup", json=payload)).status_code == 201
    again = await api.client.post("/api/auth/signup", json=payload)
    assert again.status_code == 409
    assert "taken" in again.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"username": "AB", "password": "password123", "nickname": "x"}, "username"),
        ({"username": "Upper_Case", "password": "password123", "nickname": "x"}, "username"),
        ({"username": "carol", "password": "short", "nickname": "x"}, "password"),
        ({"username": "carol", "password": "password123", "nickname": ""}, "nickname"),
        ({"username": "carol", "password": "password123"}, "nickname"),
        ({"username": "carol", "password": "password123", "nickname": "x", "admin": True}, "admin"),
        ({"username": 5, "password": "password123", "nickname": "x"}, "username"),
    ],
)
async def test_bad_signups_are_400_and_create_nothing(api: Api, payload: dict, words: str) -> None:
    response = await api.client.post("/api/auth/signup", json=payload)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert await api.platform.pool.fetchval("SELECT count(*) FROM users") == 0


async def test_wrong_password_is_401_and_too_many_is_429(api: Api) -> None:
    await api.user("dave_1")
    for _ in range(10):
        wrong = await api.client.post(
            "/api/auth/login", json={"username": "dave_1", "password": "nope-nope"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "wrong username or password"
    limited = await api.client.post(
        "/api/auth/login", json={"username": "dave_1", "password": "password123"}
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    unknown = await api.client.post(
        "/api/auth/login", json={"username": "nobody", "password": "password123"}
    )
    assert unknown.status_code == 401


async def test_missing_forged_and_expired_tokens_are_401(api: Api) -> None:
    headers = await api.user()
    assert (await api.client.get("/api/me")).status_code == 401
    assert (
        await api.client.get("/api/me", headers={"Authorization": "Bearer nonsense"})
    ).status_code == 401

    token = headers["Authorization"].split()[1]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "ADMIN"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    response = await api.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"

    api.clock.advance(86400 + 31)  # past expiry and the 30 s leeway
    expired = await api.client.get("/api/me", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


async def test_token_from_another_key_is_refused(api: Api, database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from daemon.tokens import TokenMinter, load_or_create_private_key

    headers = await api.user()
    me = (await api.client.get("/api/me", headers=headers)).json()
    other_key = load_or_create_private_key(tmp_path / "other", None)
    import uuid

    forged = TokenMinter(other_key, api.clock, timedelta(hours=1)).mint(
        uuid.UUID(me["id"]), "ADMIN"
    )
    response = await api.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_admin_routes_refuse_users(api: Api) -> None:
    headers = await api.user("erin_1")
    assert (await api.client.post("/api/admin/invites", headers=headers)).status_code == 403
    await set_role(api.platform.pool, "erin_1", "ADMIN")
    created = await api.client.post("/api/admin/invites", headers=headers)
    assert created.status_code == 201
    assert created.json()["code"]


async def test_invite_only_signup(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import anyio
    import httpx

    from daemon.accounts import create_invite, create_user
    from daemon.clock import TestClock
    from tests.conftest import KRX_OPEN

    clock = TestClock(KRX_OPEN)
    async with (
        await start_api(database_url, tmp_path, clock, PAPERTRADE_SIGNUP="invite") as platform,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(platform.serve)
        await platform.http.serving.wait()
        admin = await create_user(
            platform.pool,
            "admin_1",
            "password123",
            "Admin",
            platform.settings.initial_cash_krw,
            "ADMIN",
        )
        code, _ = await create_invite(platform.pool, admin.id)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.http.port}") as client:
            body = {"username": "friend_1", "password": "password123", "nickname": "Friend"}
            assert (await client.post("/api/auth/signup", json=body)).status_code == 403
            wrong = await client.post("/api/auth/signup", json={**body, "invite_code": "bogus"})
            assert wrong.status_code == 403
            ok = await client.post("/api/auth/signup", json={**body, "invite_code": code})
            assert ok.status_code == 201
            reused = await client.post(
                "/api/auth/signup",
                json={**body, "username": "friend_2", "nickname": "Friend 2", "invite_code": code},
            )
            assert reused.status_code == 403
        tg.cancel_scope.cancel()
