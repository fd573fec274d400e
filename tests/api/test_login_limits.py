"""Issue 9 items 2, 3, 5 and 13 (sign-up): login and sign-up limits against a real daemon."""

from __future__ import annotations

import anyio
import httpx
import pytest

from tests.api.conftest import Api, running_api

pytestmark = pytest.mark.anyio


async def _login(api: Api, username: str, password: str, **headers: str) -> httpx.Response:
    return await api.client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=headers
    )


async def test_concurrent_guesses_are_counted_before_the_password_check(api: Api) -> None:
    await api.user("victim_1")
    answers: list[httpx.Response] = []

    async def guess(password: str) -> None:
        answers.append(await _login(api, "victim_1", password))

    async with anyio.create_task_group() as tg:
        for n in range(199):
            tg.start_soon(guess, f"wrong-{n:04d}")
        tg.start_soon(guess, "password123")
    statuses = [a.status_code for a in answers]
    evaluated = statuses.count(401) + statuses.count(200)
    assert evaluated <= 10, statuses  # the limit is 10 per username and address
    assert statuses.count(429) >= 150
    assert set(statuses) <= {200, 401, 429, 503}
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)


async def test_an_attacker_cannot_lock_out_the_real_user(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Behind the edge every client's peer is the proxy: it says who the client is.
    async with running_api(database_url, tmp_path, PAPERTRADE_TRUSTED_PROXIES="127.0.0.1") as api:
        await api.user("target_1")
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [(await _login(api, "target_1", "guess-guess", **attacker)).status_code
                    for _ in range(15)]  # fmt: skip
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429] * 5
        real = await _login(api, "target_1", "password123", **{"X-Forwarded-For": "198.51.100.9"})
        assert real.status_code == 200
        # A client cannot pick its address: only the proxy's last hop counts.
        spoofed = await _login(
            api, "target_1", "guess-guess", **{"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
        )
        assert spoofed.status_code == 429


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(api: Api) -> None:
    await api.user("target_2")
    for n in range(10):
        spoof = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert (await _login(api, "target_2", "guess-guess", **spoof)).status_code == 401
    spoof = {"X-Forwarded-For": "192.0.2.99"}
    assert (await _login(api, "target_2", "guess-guess", **spoof)).status_code == 429


async def test_a_flood_of_logins_is_bounded_and_health_still_answers(api: Api) -> None:
    """100 concurrent bad logins for distinct usernames: at most a few argon2 hashes at once
    (64 MiB each); past a short queue the answer is 503 with Retry-After, never a 500."""
    answers: list[httpx.Response] = []
    health: list[int] = []
    # 50 connections (under the per-address cap of 64), 100 logins in flight through them.
    flood = httpx.AsyncClient(
        base_url=api.base_url, timeout=30, limits=httpx.Limits(max_connections=50)
    )

    async def guess(n: int) -> None:
        body = {"username": f"nobody_{n:03d}", "password": "password123"}
        answers.append(await flood.post("/api/auth/login", json=body))

    async def check_health() -> None:
        await anyio.sleep(0.05)
        health.append((await api.client.get("/healthz")).status_code)

    async with flood, anyio.create_task_group() as tg:
        for n in range(100):
            tg.start_soon(guess, n)
        tg.start_soon(check_health)
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429, 503}, statuses
    busy = [a for a in answers if a.status_code == 503]
    assert busy, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in busy)
    assert "try again" in busy[0].json()["detail"]
    assert health == [200]


async def test_signups_are_limited_per_address(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with running_api(database_url, tmp_path, PAPERTRADE_SIGNUP_RATE="3 per hour") as api:
        statuses = []
        for n in range(5):
            body = {"username": f"spam_{n}", "password": "password123", "nickname": f"spam {n}"}
            statuses.append((await api.client.post("/api/auth/signup", json=body)).status_code)
        assert statuses == [201, 201, 201, 429, 429]
        assert await api.platform.pool.fetchval("SELECT count(*) FROM users") == 3
