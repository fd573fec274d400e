"""The edge and the daemon's intake on the real RabbitMQ and PostgreSQL: queues of each test's
own (deleted afterwards), an edge on a free port, a daemon in this process or in another."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aio_pika
import anyio
import asyncpg
import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from daemon.accounts import User, create_user
from daemon.actors.http_server import HttpServer
from daemon.amqp_topology import Topology
from daemon.clock import Clock, TestClock
from daemon.config import load_settings
from daemon.database import create_pool
from daemon.edge.app import EdgeContext, create_edge_app
from daemon.edge.idempotency import EdgeOrders
from daemon.edge.instruments import seeded_instruments
from daemon.edge.publisher import OrderPublisher
from daemon.migrate import migrate
from daemon.order_requests import order_id_for
from daemon.platform import Platform, open_platform
from daemon.tokens import TokenMinter, TokenVerifier, load_or_create_private_key
from tests.conftest import KRX_OPEN, RUN_ID, quote
from tests.fakes.waiting import eventually
from tests.faults import PrivatePostgres, PrivateRabbit, _run_as

AMQP_URL = os.environ.get("PAPERTRADE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
BTC = "CRYPTO-COIN-BTC"
INITIAL_CASH = Decimal("10000000")


def buy(quantity: str = "0.001", **extra: object) -> dict:
    return {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": quantity, **extra}


def sell(quantity: str = "0.001", **extra: object) -> dict:
    return {"ticker_id": BTC, "side": "SELL", "type": "MARKET", "quantity": quantity, **extra}


@pytest.fixture
async def queue() -> AsyncIterator[str]:
    """An intake queue name of this test's own; the queue and its dead-letter queue are deleted
    afterwards (the dead-letter exchange is the shared, durable orders.dlx)."""
    name = f"pt-test-{RUN_ID}-{uuid.uuid4().hex[:8]}.intake"
    yield name
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for doomed in (name, Topology(queue=name).dead_letter_queue):
            await channel.queue_delete(doomed)


async def take_all(
    name: str, amqp_url: str = AMQP_URL
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message waiting in queue `name`, removed from it."""
    taken = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        waiting = await channel.get_queue(name, ensure=False)
        while (message := await waiting.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
    return taken


async def depth(name: str, amqp_url: str = AMQP_URL) -> int:
    """Messages ready in queue `name` (not counting those delivered and not yet acknowledged)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(name, passive=True)
        return declared.declaration_result.message_count or 0


class Keys:
    """The daemon's key pair in its data folder, as the daemon would create it on first start."""

    def __init__(self, data_dir: Path, clock: Clock) -> None:
        self.data_dir = data_dir
        self.private = load_or_create_private_key(data_dir, None)
        self.public: Ed25519PublicKey = self.private.public_key()
        self.minter = TokenMinter(self.private, clock, timedelta(hours=1))

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.minter.mint(user.id, user.role)}"}


@pytest.fixture
def clock() -> TestClock:
    return TestClock(KRX_OPEN)


@pytest.fixture
def keys(tmp_path: Path, clock: TestClock) -> Keys:
    return Keys(tmp_path, clock)


async def new_user(pool: asyncpg.Pool) -> User:
    name = "u" + uuid.uuid4().hex[:12]
    return await create_user(pool, name, "password123", name, INITIAL_CASH)


class Edge:
    def __init__(self, client: httpx.AsyncClient, publisher: OrderPublisher) -> None:
        self.client = client
        self.publisher = publisher

    async def post(self, body: dict, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/api/orders", json=body, headers=headers)


@asynccontextmanager
async def running_edge(
    queue: str, keys: Keys, clock: Clock, amqp_url: str = AMQP_URL
) -> AsyncIterator[Edge]:
    """`papertrade edge` in this process: the same app and publisher, on a free port."""
    publisher = OrderPublisher(
        amqp_url, Topology(queue=queue), name=f"pt-test-edge-{queue}", reconnect_interval=0.2
    )
    instruments = {i.ticker_id: i for i in seeded_instruments()}
    known = EdgeOrders(keys.data_dir / f"edge-{queue}", clock)
    context = EdgeContext(TokenVerifier(keys.public, clock), publisher, known, instruments, clock)
    app = create_edge_app(context)
    server = HttpServer(app, "127.0.0.1", 0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(publisher.run)
        tg.start_soon(server.run)
        with anyio.fail_after(10):
            await server.serving.wait()
        await eventually(lambda: publisher.confirming, seconds=10)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", timeout=10
        ) as client:
            yield Edge(client, publisher)
        tg.cancel_scope.cancel()
    known.close()


@asynccontextmanager
async def running_daemon(
    database_url: str, queue: str, clock: TestClock, data_dir: Path, *, http: bool = False,
    amqp_url: str = AMQP_URL,
) -> AsyncIterator[Platform]:  # fmt: skip
    """`papertrade run` in this process with the intake on `queue`, and a fresh BTC price in its
    book before anything is settled (the test clock stands still, so the price stays fresh)."""
    settings = load_settings(
        {
            "PAPERTRADE_DATABASE_URL": database_url,
            "PAPERTRADE_FEEDS": "none",
            "PAPERTRADE_AMQP_URL": amqp_url,
            "PAPERTRADE_AMQP_QUEUE": queue,
            "PAPERTRADE_HTTP_PORT": "0",
            "PAPERTRADE_DATA_DIR": str(data_dir),
        }
    )
    async with open_platform(settings, clock, http=http) as platform:
        platform.book.update(quote(clock, BTC, "150000000", bid="149990000", ask="150010000"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(platform.serve)
            # Generous: the shared broker, busy with other tests, may refuse a declaration
            # (INTERNAL_ERROR) and the supervisor restart the intake once or twice.
            with anyio.fail_after(30):
                await platform.intake.wait_consuming()
                if platform.http is not None:
                    await platform.http.serving.wait()
            yield platform
            tg.cancel_scope.cancel()


class OrderRow(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    side: str
    status: str
    quantity: Decimal
    total_krw: Decimal | None
    fee_krw: Decimal | None
    reason: str | None


async def orders_of(
    conn: asyncpg.Connection | asyncpg.Pool, user_ids: list[uuid.UUID]
) -> list[OrderRow]:
    rows = await conn.fetch(
        "SELECT id, user_id, side, status, quantity, total_krw, fee_krw, reason FROM orders"
        " WHERE user_id = ANY($1::uuid[])",
        user_ids,
    )
    return [OrderRow(**dict(row)) for row in rows]


async def wait_settled(
    conn: asyncpg.Connection | asyncpg.Pool, order_ids: set[uuid.UUID], seconds: float = 20
) -> None:
    """Until every one of `order_ids` is recorded and no longer PENDING."""
    with anyio.fail_after(seconds):
        # Polling: the orders may be settled by another process, which signals nothing here.
        while await conn.fetchval(  # noqa: ASYNC110
            "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'",
            list(order_ids),
        ) < len(order_ids):
            await anyio.sleep(0.05)


async def assert_books_balance(
    conn: asyncpg.Connection | asyncpg.Pool, user_ids: list[uuid.UUID]
) -> None:
    """Each FILLED order moved cash and quantity exactly once, and nothing else moved them:
    wallets, the cash ledger and positions all equal the sums over FILLED orders."""
    orders = await orders_of(conn, user_ids)
    filled = {o.id: o for o in orders if o.status == "FILLED"}
    ledger = await conn.fetch(
        "SELECT order_id, amount_krw FROM cash_ledger WHERE user_id = ANY($1::uuid[])"
        " AND order_id IS NOT NULL",
        user_ids,
    )
    assert sorted(row["order_id"] for row in ledger) == sorted(filled), "one ledger row per fill"
    for row in ledger:
        order = filled[row["order_id"]]
        assert row["amount_krw"] == _cash_move(order)
    for user_id in user_ids:
        mine = [o for o in filled.values() if o.user_id == user_id]
        balance = await conn.fetchval("SELECT balance_krw FROM wallets WHERE user_id = $1", user_id)
        assert balance == INITIAL_CASH + sum((_cash_move(o) for o in mine), Decimal(0))
        held = await conn.fetchval(
            "SELECT quantity FROM portfolios WHERE user_id = $1 AND ticker_id = $2", user_id, BTC
        )
        bought = sum((o.quantity if o.side == "BUY" else -o.quantity for o in mine), Decimal(0))
        assert (held or Decimal(0)) == bought


def _cash_move(order: OrderRow) -> Decimal:
    assert order.total_krw is not None
    assert order.fee_krw is not None
    if order.side == "BUY":
        return -(order.total_krw + order.fee_krw)
    return order.total_krw - order.fee_krw


def rabbitmqctl(rabbit: PrivateRabbit, *args: str) -> None:
    """`rabbitmqctl -n <node> args...` against a private node (e.g. set_disk_free_limit 1000GB,
    which raises the disk alarm: RabbitMQ blocks every publishing connection)."""
    env = [f"{k}={v}" for k, v in rabbit._env().items() if k.startswith(("RABBITMQ_", "HOME"))]
    subprocess.run(
        [*_run_as("rabbitmq"), "env", *env, "/usr/lib/rabbitmq/bin/rabbitmqctl", "-n",
         rabbit.node, *args],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


@asynccontextmanager
async def private_database(postgres: PrivatePostgres) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A migrated database on a private PostgreSQL, and a pool to it (closed afterwards)."""
    url = await postgres.create_database()
    pool = await create_pool(url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    try:
        yield url, pool
    finally:
        with anyio.move_on_after(10, shield=True):
            await pool.close()


class Load:
    """Orders posted to an edge by `lanes` concurrent clients, each with a client_order_id, and
    what became of them: 202 (accepted), 503 (`unknown` ones may have been queued)."""

    def __init__(self, edge: Edge, keys: Keys, users: list[User]) -> None:
        self.edge = edge
        self.keys = keys
        self.users = users
        self.accepted: set[uuid.UUID] = set()
        self.attempted: set[uuid.UUID] = set()
        self.answers: list[int] = []
        self._sent = 0

    async def post(self, count: int, lanes: int = 8, pause: float = 0.0) -> None:
        """`count` more orders, `lanes` at a time, each lane pausing `pause` s between them."""
        numbers = iter(range(self._sent, self._sent + count))
        self._sent += count

        async def lane() -> None:
            for n in numbers:
                await self._one(n)
                await anyio.sleep(pause)

        async with anyio.create_task_group() as tg:
            for _ in range(lanes):
                tg.start_soon(lane)

    async def _one(self, n: int) -> None:
        user = self.users[n % len(self.users)]
        body = (
            sell("0.0001", client_order_id=f"o{n}")
            if n % 5 == 4
            else buy("0.0002", client_order_id=f"o{n}")
        )
        self.attempted.add(order_id_for(user.id, f"o{n}"))
        response = await self.edge.post(body, self.keys.headers(user))
        self.answers.append(response.status_code)
        if response.status_code == 202:
            self.accepted.add(uuid.UUID(response.json()["id"]))


async def assert_every_accepted_order_ended_once(
    pool: asyncpg.Pool, load: Load, queue: str, seconds: float = 60, amqp_url: str = AMQP_URL
) -> None:
    """Every 202'd order is recorded once and ends FILLED or FAILED (none PENDING), nothing was
    made up, nothing is dead-lettered or left in the queue, and the books balance."""
    await wait_settled(pool, load.accepted, seconds=seconds)
    user_ids = [u.id for u in load.users]
    orders = await orders_of(pool, user_ids)
    ids = [o.id for o in orders]
    assert len(ids) == len(set(ids))
    assert load.accepted <= set(ids) <= load.attempted
    assert {o.status for o in orders} <= {"FILLED", "FAILED"}
    assert all(o.reason == "insufficient_quantity" for o in orders if o.status == "FAILED")
    await assert_books_balance(pool, user_ids)
    with anyio.fail_after(seconds):
        while await depth(queue, amqp_url):  # noqa: ASYNC110  (acknowledged after settling)
            await anyio.sleep(0.1)
    assert await depth(Topology(queue=queue).dead_letter_queue, amqp_url) == 0
