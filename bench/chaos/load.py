"""The clients of a scenario, and what became of their orders, read from the database."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter

import aio_pika
import anyio
import asyncpg
import httpx
import msgspec

from bench.chaos.rig import QUEUE, Rig
from daemon.amqp_topology import Topology
from daemon.order_requests import order_id_for

BTC = "CRYPTO-COIN-BTC"


class Load:
    """`lanes` clients posting market BUYs (each with a client_order_id, no retries) at about
    `rate` orders/s in all; each answer's status code is kept by order id."""

    def __init__(self, target: str, tokens: list[str], user_ids: list[uuid.UUID]) -> None:
        self.target = target
        self.tokens = tokens
        self.user_ids = user_ids
        self.answers: dict[uuid.UUID, int] = {}  # order id -> status code (0: no answer)
        self.first_202_after: float | None = None  # perf_counter of the first 202 after `mark`
        self._mark: float | None = None
        self._sent = 0

    def mark(self) -> None:
        """From now on, note the first 202 (the fault has just been cleared)."""
        self._mark = time.perf_counter()
        self.first_202_after = None

    @property
    def sent(self) -> int:
        return len(self.answers)

    @property
    def accepted(self) -> set[uuid.UUID]:
        return {order_id for order_id, status in self.answers.items() if status == 202}

    async def post(self, count: int, rate: float, lanes: int = 16) -> None:
        numbers = iter(range(self._sent, self._sent + count))
        self._sent += count
        pause = lanes / rate

        async def lane(client: httpx.AsyncClient) -> None:
            for n in numbers:
                started = time.perf_counter()
                await self._one(client, n)
                await anyio.sleep(max(0.0, pause - (time.perf_counter() - started)))

        async with (
            httpx.AsyncClient(base_url=self.target, timeout=15) as client,
            anyio.create_task_group() as tg,
        ):
            for _ in range(lanes):
                tg.start_soon(lane, client)

    async def _one(self, client: httpx.AsyncClient, n: int) -> None:
        user = n % len(self.tokens)
        order_id = order_id_for(self.user_ids[user], f"chaos-{n}")
        body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.0001",
                "client_order_id": f"chaos-{n}"}  # fmt: skip
        status = 0
        with contextlib.suppress(httpx.HTTPError):
            response = await client.post(
                "/api/orders", json=body,
                headers={"Authorization": f"Bearer {self.tokens[user]}"},
            )  # fmt: skip
            status = response.status_code
        self.answers[order_id] = status
        if status == 202 and self._mark is not None and self.first_202_after is None:
            self.first_202_after = time.perf_counter()

    @property
    def ready_after(self) -> float | None:
        """Seconds from the fault's end to the first 202 after it."""
        if self._mark is None or self.first_202_after is None:
            return None
        return self.first_202_after - self._mark


class Outcome(msgspec.Struct, kw_only=True):
    scenario: str
    sent: int
    accepted: int  # answered 202
    refused: int  # answered 503 (or nothing)
    lost: int  # 202, never recorded, and not in the queue either
    queued: int  # 202, not recorded, still waiting in the intake queue (edge mode)
    dead: int  # messages in the dead-letter queue (edge mode)
    duplicated: int  # settled more than once, or recorded without being sent
    stuck: int  # 202, recorded, still PENDING at the end
    books_balance: bool
    ready_s: float | None  # from the fault's end to the first 202 after it
    settled_s: float | None  # from the fault's end to every 202'd order settled
    note: str = ""


async def settle_wait(url: str, accepted: set[uuid.UUID], seconds: float) -> float | None:
    """Wait up to `seconds` for every accepted order to be recorded and not PENDING; the
    perf_counter time when they were, or None if some were not by then."""
    started = time.perf_counter()
    deadline = started + seconds
    conn = await _connect(url, deadline)
    try:
        while time.perf_counter() < deadline:
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                done = await conn.fetchval(
                    "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'",
                    list(accepted),
                )
                if done == len(accepted):
                    return time.perf_counter()
            await anyio.sleep(0.2)
        return None
    finally:
        await conn.close()


async def _connect(url: str, deadline: float) -> asyncpg.Connection:
    while True:
        try:
            return await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError):
            if time.perf_counter() > deadline:
                raise
            await anyio.sleep(0.5)


async def outcome(
    scenario: str, rig: Rig, load: Load, settled_s: float | None, note: str = ""
) -> Outcome:
    conn = await asyncpg.connect(rig.database_url)
    try:
        rows = await conn.fetch("SELECT id, status FROM orders")
        recorded = {row["id"]: row["status"] for row in rows}
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT order_id FROM cash_ledger WHERE order_id IS NOT NULL"
            " GROUP BY order_id HAVING count(*) > 1) AS t"
        )
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM wallets AS w WHERE w.balance_krw <> (SELECT coalesce(sum("
            "amount_krw), 0) FROM cash_ledger AS l WHERE l.user_id = w.user_id)"
        )
    finally:
        await conn.close()
    # Stopped, the daemon gives back what it holds unacknowledged: then the queue shows all.
    await anyio.to_thread.run_sync(rig.daemon.stop)
    waiting, dead = await _in_queues(rig)
    accepted = load.accepted
    codes = Counter(status for status in load.answers.values() if status != 202)
    if codes:  # 0: no answer (connection refused or reset)
        answers = " ".join(f"{code}x{n}" for code, n in sorted(codes.items()))
        note = f"not 202: {answers}; {note}".rstrip("; ")
    unrecorded = accepted - set(recorded)
    made_up = len(set(recorded) - set(load.answers))
    return Outcome(
        scenario=scenario,
        sent=load.sent,
        accepted=len(accepted),
        refused=load.sent - len(accepted),
        lost=len(unrecorded - waiting),
        queued=len(unrecorded & waiting),
        dead=dead,
        duplicated=twice + made_up,
        stuck=sum(1 for order_id in accepted if recorded.get(order_id) == "PENDING"),
        books_balance=unbalanced == 0,
        ready_s=load.ready_after,
        settled_s=settled_s,
        note=note,
    )


async def _in_queues(rig: Rig) -> tuple[set[uuid.UUID], int]:
    """The order ids waiting in the intake queue (looked at, left there), and how many dead
    letters there are."""
    if rig.rabbit is None:
        return set(), 0
    waiting: set[uuid.UUID] = set()
    connection = await aio_pika.connect(rig.rabbit.url)
    async with connection:
        channel = await connection.channel()
        intake = await channel.declare_queue(QUEUE, passive=True)
        while (message := await intake.get(no_ack=False, fail=False)) is not None:
            with contextlib.suppress(ValueError, TypeError):
                waiting.add(uuid.UUID(message.message_id))
        dead = await channel.declare_queue(Topology(queue=QUEUE).dead_letter_queue, passive=True)
        return waiting, dead.declaration_result.message_count or 0
