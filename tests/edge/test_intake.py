"""The daemon's intake actor on the real RabbitMQ and PostgreSQL: backlog, one path for every
order, duplicates, poison messages, and a dropped connection on both sides."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aio_pika
import anyio
import asyncpg
import httpx
import msgspec
import pytest
import structlog

from daemon import order_wire
from daemon.amqp_topology import Topology
from daemon.clock import TestClock
from daemon.edge.publisher import OrderPublisher
from daemon.order_requests import OrderRequest, build_order, order_id_for
from daemon.tokens import TokenMinter
from tests.edge.conftest import (
    AMQP_URL,
    BTC,
    Keys,
    assert_books_balance,
    buy,
    depth,
    new_user,
    orders_of,
    running_daemon,
    running_edge,
    sell,
    take_all,
    wait_settled,
)
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.waiting import eventually

pytestmark = pytest.mark.anyio


async def test_orders_taken_while_the_daemon_is_down_settle_once_when_it_starts(
    database_url: str, pool: asyncpg.Pool, queue: str, keys: Keys, clock: TestClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Each user's orders settle in the order the edge took them: every sell sells all that
    the user holds, so a sell that overtook a buy would fail."""
    alice, bob = await new_user(pool), await new_user(pool)
    accepted: list[dict] = []
    async with running_edge(queue, keys, clock) as edge:
        for _ in range(12):
            for user, body in (
                (alice, buy("0.002")),
                (bob, buy("0.001")),
                (alice, sell("0.002")),
                (bob, buy("0.001")),
                (bob, sell("0.002")),
            ):
                response = await edge.post(body, keys.headers(user))
                assert response.status_code == 202, response.text
                accepted.append(response.json())
        for _ in range(3):  # a client retrying: one order
            retried = await edge.post(buy(client_order_id="once"), keys.headers(bob))
            assert retried.status_code == 202
        accepted.append(retried.json())
    assert await depth(queue) == len(accepted)  # the edge answered the retries itself

    async with running_daemon(database_url, queue, clock, tmp_path):
        await wait_settled(pool, {uuid.UUID(o["id"]) for o in accepted})
    orders = await orders_of(pool, [alice.id, bob.id])
    assert sorted(str(o.id) for o in orders) == sorted(o["id"] for o in accepted)
    assert {o.status for o in orders} == {"FILLED"}
    await assert_books_balance(pool, [alice.id, bob.id])
    assert await depth(queue) == 0
    assert await take_all(Topology(queue=queue).dead_letter_queue) == []


async def test_an_order_whose_token_expired_while_it_waited_in_the_queue_settles(
    database_url: str, pool: asyncpg.Pool, queue: str, keys: Keys, clock: TestClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The token rule (daemon/intake_auth.py): valid when the edge accepted the order is enough,
    within the maximum queue age; the home was offline for longer than the token lived."""
    user = await new_user(pool)
    async with running_edge(queue, keys, clock) as edge:  # tokens live one hour here
        accepted = (await edge.post(buy(), keys.headers(user))).json()
    clock.advance(5 * 3600)
    async with running_daemon(database_url, queue, clock, tmp_path):
        await wait_settled(pool, {uuid.UUID(accepted["id"])})
    (order,) = await orders_of(pool, [user.id])
    assert order.status == "FILLED"
    created_at = await pool.fetchval("SELECT created_at FROM orders WHERE id = $1", order.id)
    assert created_at == clock.now()  # the daemon's time, not the edge's


async def test_the_daemons_own_api_goes_through_the_queue(
    database_url: str, pool: asyncpg.Pool, queue: str, clock: TestClock, tmp_path: Path
) -> None:
    """With AMQP configured, POST /api/orders of the daemon publishes to the queue like the
    edge: the order settles through the intake, and with the broker out of reach it is 503."""
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    url = AMQP_URL.replace(":5672", f":{proxy.port}")
    try:
        async with running_daemon(
            database_url, queue, clock, tmp_path, http=True, amqp_url=url
        ) as platform:
            assert platform.http is not None
            keys = Keys(tmp_path, clock)  # the key pair the daemon made in its data folder
            user = await new_user(pool)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.http.port}") as api:
                await eventually(lambda: platform.order_publisher.connected)
                placed = [
                    await api.post(
                        "/api/orders", json=buy(client_order_id="a"), headers=keys.headers(user)
                    )
                    for _ in range(2)
                ]
                assert [r.status_code for r in placed] == [202, 202]
                assert placed[0].json()["id"] == placed[1].json()["id"]
                order_id = uuid.UUID(placed[0].json()["id"])
                await wait_settled(pool, {order_id})
                shown = (
                    await api.get(f"/api/orders/{order_id}", headers=keys.headers(user))
                ).json()
                assert shown["status"] == "FILLED"

                await proxy.cut()
                await eventually(lambda: not platform.order_publisher.connected)
                refused = await api.post("/api/orders", json=buy(), headers=keys.headers(user))
                assert refused.status_code == 503
                assert "not accepted" in refused.json()["detail"]
    finally:
        await proxy.close()
    assert [o.id for o in await orders_of(pool, [user.id])] == [order_id]
    await assert_books_balance(pool, [user.id])


async def test_a_repeated_client_order_id_in_edge_mode_is_the_stored_order_or_409(
    database_url: str, pool: asyncpg.Pool, queue: str, clock: TestClock, tmp_path: Path
) -> None:
    """Issue 9 item 9: the daemon's API in edge mode looks the deterministic order id up first;
    a repeat gets the order as stored (here FILLED), a changed body 409, and neither is queued.
    The user has changed their password once (token generation 1): the token the daemon puts
    in the message for its own API's caller is of that generation, so the intake takes it."""
    async with running_daemon(database_url, queue, clock, tmp_path, http=True) as platform:
        assert platform.http is not None
        keys = Keys(tmp_path, clock)
        user = await new_user(pool)
        await pool.execute("UPDATE users SET token_generation = 1 WHERE id = $1", user.id)
        headers = {"Authorization": f"Bearer {keys.minter.mint(user.id, user.role, 1)}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.http.port}") as api:
            await eventually(lambda: platform.order_publisher.confirming)
            first = await api.post("/api/orders", json=buy(client_order_id="r"), headers=headers)
            assert first.status_code == 202
            await wait_settled(pool, {uuid.UUID(first.json()["id"])})
            again = await api.post("/api/orders", json=buy(client_order_id="r"), headers=headers)
            changed = await api.post("/api/orders", json=sell(client_order_id="r"), headers=headers)
            assert await depth(queue) == 0
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "FILLED"
    assert changed.status_code == 409
    assert "client_order_id 'r' is already an order" in changed.json()["detail"]
    assert len(await orders_of(pool, [user.id])) == 1


async def test_redelivered_copies_settle_once(
    database_url: str, pool: asyncpg.Pool, queue: str, keys: Keys, clock: TestClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    user = await new_user(pool)
    token = keys.minter.mint(user.id, user.role)
    async with running_daemon(database_url, queue, clock, tmp_path) as platform:
        order = build_order(
            OrderRequest(ticker_id=BTC, side="BUY", quantity="0.01"), user.id,
            platform.instruments, clock.now(),
        )  # fmt: skip
        publisher = OrderPublisher(AMQP_URL, Topology(queue=queue), name="pt-test-copies")
        async with anyio.create_task_group() as tg:
            tg.start_soon(publisher.run)
            await eventually(lambda: publisher.connected)
            for _ in range(5):  # at-least-once: the same message, again and again
                await publisher.publish(order_wire.placed(order, token))
            await wait_settled(pool, {order.id})
            tg.cancel_scope.cancel()
        await eventually(lambda: platform.intake.acknowledged == 5)
        assert not platform.intake._settling
    (stored,) = await orders_of(pool, [user.id])
    assert stored.status == "FILLED"
    await assert_books_balance(pool, [user.id])
    assert await depth(queue) == 0


async def test_forged_altered_and_invalid_messages_are_dead_lettered_and_change_nothing(
    database_url: str, pool: asyncpg.Pool, queue: str, keys: Keys, clock: TestClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Someone with the edge's broker credentials writes to the intake queue directly: each
    message below is dead-lettered with a log line saying why, no money moves, the resting
    order it names stays as it is, and a real order behind them still fills."""
    victim, mallory, revoked = await new_user(pool), await new_user(pool), await new_user(pool)
    revoked_token = keys.minter.mint(revoked.id, "USER")
    await pool.execute("UPDATE users SET token_generation = 1 WHERE id = $1", revoked.id)
    topology = Topology(queue=queue)
    now = clock.now()
    token = keys.minter.mint(mallory.id, "USER")
    forged_key = Keys(tmp_path / "forger", clock)
    old_clock = TestClock(now - timedelta(hours=5))
    expired = TokenMinter(keys.private, old_clock, timedelta(hours=1)).mint(mallory.id, "USER")

    def message(request: dict, **fields: object) -> bytes:
        body = {
            "version": 2, "order_id": str(uuid.uuid4()), "token": token,
            "accepted_at": now.isoformat(), "request": {"ticker_id": BTC, "side": "SELL",
            "type": "MARKET", "quantity": "0.001"} | request,
        } | fields  # fmt: skip
        return msgspec.json.encode(body)

    async with (
        running_daemon(database_url, queue, clock, tmp_path) as platform,
        running_edge(queue, keys, clock) as edge,
    ):
        resting = (
            await edge.post(buy(type="LIMIT", limit_price="10000000"), keys.headers(victim))
        ).json()
        await eventually(lambda: sum(a.resting_orders for a in platform.settlement) == 1)
        bad = {
            "unreadable": b'{"version": 99}',
            "version 1": msgspec.json.encode({"version": 1, "order": {"id": resting["id"]}}),
            "currency": message({"currency": "USD"}),
            "status": message({}, status="FILLED"),
            "created_at": message({}, created_at="2020-01-01T00:00:00Z"),
            "no token": message({}, token=""),
            "forged token": message({}, token=forged_key.minter.mint(victim.id, "USER")),
            "unknown user": message({}, token=keys.minter.mint(uuid.uuid4(), "USER")),
            "9 decimals": message({"quantity": "0.000000001"}),
            "queued too long": message({}, accepted_at=(now - timedelta(days=4)).isoformat()),
            "accepted in the future": message({}, accepted_at=(now + timedelta(hours=1)).isoformat()),
            "expired token": message({}, token=expired),
            "another's order id": message({}, order_id=resting["id"]),
            "id not of client_order_id": message({"client_order_id": "x"}),
            "revoked token": message({}, token=revoked_token),
        }  # fmt: skip
        connection = await aio_pika.connect(AMQP_URL)
        with structlog.testing.capture_logs() as logs:
            async with connection:
                channel = await connection.channel()
                for body in bad.values():
                    await channel.default_exchange.publish(
                        aio_pika.Message(body, message_id=resting["id"]), routing_key=queue
                    )
            after = (await edge.post(buy(), keys.headers(victim))).json()
            await wait_settled(pool, {uuid.UUID(after["id"])})
            with anyio.fail_after(10):
                while await depth(topology.dead_letter_queue) < len(bad):  # noqa: ASYNC110
                    await anyio.sleep(0.05)
        assert platform.intake.dead_lettered == len(bad)
        gauges = {name: value for name, _, _, value in platform.intake.gauges()}
        assert gauges["papertrade_intake_dead_lettered"] == len(bad)
    reasons = [e["reason"] for e in logs if e["event"] == "intake_message_dead_lettered"]
    # In any order: a message refused only after a database look-up (an order id that names
    # another's order) may be dead-lettered after the ones behind it. Each reason is put under
    # the first of these words it has, the specific ones before "token refused"/"unreadable".
    words = ["currency", "status", "created_at", "no longer exists", "quantity",
             "older than the maximum queue age", "in the future", "expired", "does not match",
             "client_order_id", "revoked", "token refused", "unreadable"]  # fmt: skip
    said = Counter(next((w for w in words if w in reason), reason) for reason in reasons)
    assert said == Counter(
        ["unreadable", "unreadable", "currency", "status", "created_at", "token refused",
         "token refused", "no longer exists", "quantity", "older than the maximum queue age",
         "in the future", "expired", "does not match", "client_order_id", "revoked"]
    ), reasons  # fmt: skip
    everyone = [victim.id, mallory.id, revoked.id]
    statuses = {str(o.id): o.status for o in await orders_of(pool, everyone)}
    assert statuses == {resting["id"]: "PENDING", after["id"]: "FILLED"}
    await assert_books_balance(pool, everyone)
    dead = await take_all(topology.dead_letter_queue)
    assert Counter(d.body for d in dead) == Counter(bad.values())
    assert await depth(queue) == 0


async def test_a_dropped_connection_is_survived_by_edge_and_daemon(
    database_url: str, pool: asyncpg.Pool, queue: str, keys: Keys, clock: TestClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Both sides reach RabbitMQ through a proxy that the test cuts in the middle of a stream of
    orders: every order answered 202 settles exactly once; none answered 503 is required to."""
    users = [await new_user(pool) for _ in range(3)]
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    url = AMQP_URL.replace(":5672", f":{proxy.port}")
    accepted: set[uuid.UUID] = set()
    attempted: set[uuid.UUID] = set()
    answers: list[int] = []

    async def place(edge, n: int) -> None:  # type: ignore[no-untyped-def]
        user = users[n % len(users)]
        attempted.add(order_id_for(user.id, f"o{n}"))
        response = await edge.post(buy("0.001", client_order_id=f"o{n}"), keys.headers(user))
        answers.append(response.status_code)
        if response.status_code == 202:
            accepted.add(uuid.UUID(response.json()["id"]))

    try:
        async with (
            running_daemon(database_url, queue, clock, tmp_path, amqp_url=url),
            running_edge(queue, keys, clock, amqp_url=url) as edge,
        ):
            async with anyio.create_task_group() as tg:
                for n in range(60):
                    tg.start_soon(place, edge, n)
                    if n == 30:
                        await proxy.cut()
                    await anyio.sleep(0.005)
            assert 503 in answers
            await proxy.start()
            await eventually(lambda: edge.publisher.connected, seconds=10)
            for n in range(60, 80):
                await place(edge, n)
            assert answers[-20:] == [202] * 20
            await wait_settled(pool, accepted)
    finally:
        await proxy.close()
    recorded = {o.id for o in await orders_of(pool, [u.id for u in users])}
    assert accepted <= recorded <= attempted
    await assert_books_balance(pool, [u.id for u in users])


async def test_a_start_that_fails_and_is_restarted_still_wakes_whoever_waits_for_the_intake(
    database_url: str, queue: str, clock: TestClock, tmp_path: Path
) -> None:
    """The broker refuses the first declarations (the queue exists with other arguments), the
    supervisor restarts the intake, and the second attempt consumes: a waiter that began before
    the first attempt is woken by the second (it was left on the failed attempt's event)."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)  # classic: PRECONDITION_FAILED for us
        started = anyio.Event()

        async def run() -> None:
            async with running_daemon(database_url, queue, clock, tmp_path) as platform:
                assert platform.intake.paused is False
                started.set()

        with structlog.testing.capture_logs() as logs:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await eventually(
                    lambda: any(e.get("actor") == "order_intake" and e["event"] == "actor_crashed"
                                for e in logs),
                    seconds=20,
                )  # fmt: skip
                assert not started.is_set()
                await channel.queue_delete(queue)
                with anyio.fail_after(25):
                    await started.wait()
