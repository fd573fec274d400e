"""`papertrade edge` with no daemon anywhere: tokens, validation, 202 only on RabbitMQ's confirm."""

from __future__ import annotations

import uuid
from datetime import timedelta

import aio_pika
import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from daemon import order_wire
from daemon.accounts import User
from daemon.clock import TestClock
from daemon.tokens import TokenMinter
from tests.api.test_orders import ORDER_FIELDS
from tests.edge.conftest import AMQP_URL, BTC, Keys, buy, running_edge, sell, take_all
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.waiting import eventually

pytestmark = pytest.mark.anyio
# The edge has no database: a user only has to exist in a valid token.
ALICE = User(id=uuid.uuid4(), username="alice", nickname="alice", role="USER")


async def test_an_order_is_answered_202_once_it_is_in_the_queue(
    queue: str, keys: Keys, clock: TestClock
) -> None:
    headers = keys.headers(ALICE)
    async with running_edge(queue, keys, clock) as edge:
        response = await edge.post(buy("0.5"), headers)
        assert response.status_code == 202, response.text
        order = response.json()
        assert set(order) == ORDER_FIELDS
        assert order["status"] == "PENDING"
        assert order["quantity"] == "0.50000000"
        assert order["currency"] == "KRW-COIN"
        assert order["created_at"] == "2026-11-25T01:00:00Z"
        (message,) = await take_all(queue)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == order["id"]
    queued = order_wire.decode(message.body)
    assert str(queued.order_id) == order["id"]
    assert queued.token == headers["Authorization"].removeprefix("Bearer ")
    assert queued.request.ticker_id == BTC
    assert queued.request.quantity == "0.50000000"


async def test_a_retry_with_the_same_client_order_id_is_the_same_order(
    queue: str, keys: Keys, clock: TestClock
) -> None:
    async with running_edge(queue, keys, clock) as edge:
        first = await edge.post(buy(client_order_id="retry-1"), keys.headers(ALICE))
        clock.advance(5)
        again = await edge.post(buy(client_order_id="retry-1"), keys.headers(ALICE))
        other = await edge.post(buy(client_order_id="retry-2"), keys.headers(ALICE))
    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json() == again.json() != other.json()  # the stored answer, created_at too
    # The repeat is answered from the edge's record, not queued again.
    ids = [order_wire.decode(m.body).order_id for m in await take_all(queue)]
    assert [str(i) for i in ids] == [first.json()["id"], other.json()["id"]]


async def test_a_repeated_client_order_id_with_another_body_is_409(
    queue: str, keys: Keys, clock: TestClock
) -> None:
    async with running_edge(queue, keys, clock) as edge:
        first = await edge.post(buy("0.001", client_order_id="c-1"), keys.headers(ALICE))
        changed = await edge.post(buy("0.002", client_order_id="c-1"), keys.headers(ALICE))
        limit = await edge.post(
            buy(client_order_id="c-1", type="LIMIT", limit_price="10000000"), keys.headers(ALICE)
        )
        same = await edge.post(buy("0.001", client_order_id="c-1"), keys.headers(ALICE))
    assert (first.status_code, changed.status_code, limit.status_code) == (202, 409, 409)
    assert "client_order_id 'c-1' is already an order" in changed.json()["detail"]
    assert same.status_code == 202
    assert same.json() == first.json()
    assert len(await take_all(queue)) == 1


async def test_concurrent_repeats_of_a_client_order_id_queue_one_order(
    queue: str, keys: Keys, clock: TestClock
) -> None:
    """Twenty requests with one client_order_id at once, half of them another body: one message
    is queued, and every answer is that order (202) or 409."""
    headers = keys.headers(ALICE)
    answers = []
    async with running_edge(queue, keys, clock) as edge:

        async def post(n: int) -> None:
            body = buy("0.001" if n % 2 else "0.002", client_order_id="burst")
            answers.append((n % 2, await edge.post(body, headers)))

        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(post, n)
    (message,) = await take_all(queue)
    queued = order_wire.decode(message.body)
    winner = 1 if queued.request.quantity == "0.00100000" else 0
    for parity, response in answers:
        expected = 202 if parity == winner else 409
        assert response.status_code == expected, response.text
        if expected == 202:
            assert response.json()["id"] == str(queued.order_id)


async def test_the_edge_remembers_client_order_ids_across_a_restart(
    queue: str, keys: Keys, clock: TestClock
) -> None:
    async with running_edge(queue, keys, clock) as edge:
        first = await edge.post(buy(client_order_id="c-2"), keys.headers(ALICE))
    async with running_edge(queue, keys, clock) as edge:
        changed = await edge.post(sell(client_order_id="c-2"), keys.headers(ALICE))
        again = await edge.post(buy(client_order_id="c-2"), keys.headers(ALICE))
    assert (first.status_code, changed.status_code, again.status_code) == (202, 409, 202)
    assert again.json() == first.json()


async def test_forged_expired_or_missing_tokens_are_401(
    queue: str, keys: Keys, clock: TestClock
) -> None:
    forger = TokenMinter(Ed25519PrivateKey.generate(), clock, timedelta(hours=1))
    three_hours_ago = TestClock(clock.now() - timedelta(hours=3))
    expired = TokenMinter(keys.private, three_hours_ago, timedelta(hours=1))
    async with running_edge(queue, keys, clock) as edge:
        details = []
        for headers in (
            {"Authorization": f"Bearer {forger.mint(ALICE.id, 'USER')}"},
            {"Authorization": f"Bearer {expired.mint(ALICE.id, 'USER')}"},
            {"Authorization": "Bearer not.a.token"},
            {},
        ):
            response = await edge.post(buy(), headers)
            assert response.status_code == 401, headers
            assert set(response.json()) == {"status_code", "detail"}
            details.append(response.json()["detail"])
    assert "not valid" in details[0]
    assert "expired" in details[1]
    assert "log in first" in details[3]
    assert await take_all(queue) == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (buy(ticker_id="CRYPTO-COIN-NOPE"), "not traded here"),
        (buy(ticker_id="btc"), "ticker"),
        (buy(quantity=0.1), "quantity"),
        (buy(quantity="0"), "greater than 0"),
        (buy(quantity="0.000000001"), "quantity"),
        (buy(type="LIMIT"), "limit_price"),
        (buy(surprise=1), "surprise"),
        # Exchange rules that need no price: the edge refuses them as the daemon does.
        (buy(ticker_id="KRX-STOCK-005930", quantity="1.5"), "whole shares; send 1 or 2"),
        (buy(type="LIMIT", limit_price="150000500"), "150000000 or 150001000"),
        (buy(quantity="0.00001", type="LIMIT", limit_price="100000000"), "minimum"),
    ],
)
async def test_bad_orders_are_400_as_at_the_daemon(
    queue: str, keys: Keys, clock: TestClock, body: dict, detail: str
) -> None:
    async with running_edge(queue, keys, clock) as edge:
        response = await edge.post(body, keys.headers(ALICE))
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    assert await take_all(queue) == []


async def test_no_confirm_is_503_never_202(queue: str, keys: Keys, clock: TestClock) -> None:
    """Unroutable (the queue is gone) and unreachable (the network is cut): 503 with a detail.
    When the network is back, the edge reconnects by itself and accepts orders again."""
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    url = AMQP_URL.replace(":5672", f":{proxy.port}")
    try:
        async with running_edge(queue, keys, clock, amqp_url=url) as edge:
            assert (await edge.client.get("/healthz")).status_code == 200
            assert (await edge.client.get("/readyz")).json() == {
                "ready": True,
                "broker": True,
                "confirms": True,
            }

            connection = await aio_pika.connect(AMQP_URL)
            async with connection:
                await (await connection.channel()).queue_delete(queue)
            gone = await edge.post(buy(), keys.headers(ALICE))
            assert gone.status_code == 503
            assert "RabbitMQ refused the order" in gone.json()["detail"]

            await proxy.cut()
            await eventually(lambda: not edge.publisher.connected)
            cut = await edge.post(buy(), keys.headers(ALICE))
            assert cut.status_code == 503
            assert "cannot be reached" in cut.json()["detail"]
            assert "not accepted" in cut.json()["detail"]
            assert cut.headers["retry-after"] == "2"
            readiness = await edge.client.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json() == {
                "ready": False,
                "broker": False,
                "confirms": False,
            }

            await proxy.start()
            await eventually(lambda: edge.publisher.connected, seconds=10)
            back = await edge.post(buy(), keys.headers(ALICE))  # topology declared again
            assert back.status_code == 202, back.text
    finally:
        await proxy.close()
    queued = [str(order_wire.decode(m.body).order_id) for m in await take_all(queue)]
    assert queued == [back.json()["id"]]
