"""The running platform: everything one `papertrade run` process holds, wired and supervised.

`open_platform()` connects, migrates and builds the actors; `Platform.serve()` runs them.
Tests use the same two calls, with an injected clock and their own database.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from uuid import UUID

import anyio
import asyncpg
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon.actors.market_hub import MarketHub
from daemon.actors.order_recorder import OrderRecorder
from daemon.actors.settlement import SettlementActor, partition_of
from daemon.actors.sim_feeder import SimFeeder
from daemon.clock import Clock, LiveClock
from daemon.config import Settings
from daemon.database import create_pool, embedded_database_url
from daemon.fees import FeeSchedule, parse_fee_schedule
from daemon.instruments import Instrument, load_instruments
from daemon.market_hours import MarketHours
from daemon.messages import (
    CancelOrder,
    MarketData,
    Order,
    OrderEvent,
    SettleOrder,
    SettlementCommand,
)
from daemon.migrate import migrate
from daemon.price_book import PriceBook
from daemon.supervisor import Actor, RestartPolicy, supervise

log = structlog.get_logger(__name__)

MARKET_BUFFER = 10_000
SETTLEMENT_BUFFER = 100_000


class Platform:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        pool: asyncpg.Pool,
        instruments: list[Instrument],
        calendar: MarketHours,
        fees: FeeSchedule,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.pool = pool
        self.instruments = {i.ticker_id: i for i in instruments}
        self.calendar = calendar
        self.fees = fees
        self.book = PriceBook(
            clock,
            timedelta(seconds=settings.stale_after_seconds),
            timedelta(seconds=settings.fx_stale_after_seconds),
        )
        self.market_in, market_out = anyio.create_memory_object_stream[MarketData](MARKET_BUFFER)
        self.hub = MarketHub(self.book, market_out)
        # Order events are never dropped; consumers drain them quickly into their own queues.
        self.events_in, self.events_out = anyio.create_memory_object_stream[OrderEvent](math.inf)
        self.recorder = OrderRecorder(pool)
        self._inboxes: list[ObjectSendStream[SettlementCommand]] = []
        self.settlement: list[SettlementActor] = []
        for index in range(settings.partitions):
            send, receive = anyio.create_memory_object_stream[SettlementCommand](SETTLEMENT_BUFFER)
            self._inboxes.append(send)
            self.settlement.append(
                SettlementActor(
                    index=index,
                    partitions=settings.partitions,
                    pool=pool,
                    book=self.book,
                    calendar=calendar,
                    fee_rate=fees.rate,
                    instruments=instruments,
                    clock=clock,
                    inbox=receive,
                    events=self.events_in.clone(),
                    limit_order_ttl=timedelta(hours=settings.limit_order_ttl_hours),
                )
            )
        self.feeders: list = []
        if "sim" in settings.feeds:
            self.feeders.append(
                SimFeeder(instruments, self.market_in.clone(), clock, calendar=calendar)
            )
        self.extra_actors: list[Actor] = []

    def subscribe_market(
        self, name: str, buffer: int = MARKET_BUFFER
    ) -> ObjectReceiveStream[MarketData]:
        """A bounded stream of every quote and rate (drops counted by the hub when full)."""
        send, receive = anyio.create_memory_object_stream[MarketData](buffer)
        self.hub.add_subscriber(name, send)
        return receive

    def actors(self) -> list[Actor]:
        return [
            Actor("market_hub", self.hub.run),
            Actor("order_recorder", self.recorder.run),
            *(Actor(f"settlement_{a.index}", a.run) for a in self.settlement),
            *(Actor(f"feed_{f.name}", f.run) for f in self.feeders),
            *self.extra_actors,
        ]

    async def serve(self) -> None:
        policy = RestartPolicy(
            max_restarts=self.settings.max_restarts, window=self.settings.restart_window_seconds
        )
        await supervise(self.actors(), policy)

    def inbox_of(self, user_id: UUID) -> ObjectSendStream[SettlementCommand]:
        """The settlement partition that owns `user_id`."""
        return self._inboxes[partition_of(user_id, len(self._inboxes))]

    async def submit(self, order: Order) -> tuple[Order, bool]:
        """Record `order` durably as PENDING, then hand it to its user's settlement partition.

        Returns the stored order and whether it is new (False: a retry of a known order)."""
        stored, created = await self.recorder.record(order)
        if created:
            log.info(
                "order_accepted",
                order_id=str(stored.id),
                user_id=str(stored.user_id),
                ticker_id=stored.ticker_id,
                side=stored.side,
                type=stored.type,
                quantity=str(stored.quantity),
            )
            self.events_in.send_nowait(OrderEvent(stored))
            await self.inbox_of(stored.user_id).send(SettleOrder(stored))
        return stored, created

    async def cancel(self, user_id: UUID, order_id: UUID) -> Order | None:
        """Cancel a PENDING order of `user_id`; the order as it ends up, None if not theirs."""
        reply_send, reply_receive = anyio.create_memory_object_stream[Order | None](1)
        await self.inbox_of(user_id).send(CancelOrder(user_id, order_id, reply_send))
        async with reply_receive:
            return await reply_receive.receive()

    async def close_inboxes(self) -> None:
        for inbox in self._inboxes:
            await inbox.aclose()


@asynccontextmanager
async def open_platform(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Platform]:
    """Connect (starting the embedded PostgreSQL if no URL is set), migrate, build the actors."""
    url = settings.database_url or await embedded_database_url(settings.data_dir)
    pool = await create_pool(url, max_size=max(10, settings.partitions + 6))
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        instruments = await load_instruments(pool)
        calendar = MarketHours()
        await anyio.to_thread.run_sync(calendar.warm_up)
        yield Platform(
            settings,
            clock or LiveClock(),
            pool,
            instruments,
            calendar,
            parse_fee_schedule(settings.fees),
        )
    finally:
        with anyio.move_on_after(10, shield=True):
            await pool.close()
