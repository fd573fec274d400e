"""The running platform: everything one `papertrade run` process holds, wired and supervised.

`open_platform()` connects, migrates and builds the actors; `Platform.serve()` runs them.
Tests use the same two calls, with an injected clock and their own database.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from uuid import UUID

import anyio
import asyncpg
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon.actors.badge_awarder import BadgeAwarder
from daemon.actors.board_warmer import BoardWarmer
from daemon.actors.candle_roller import CandleRoller
from daemon.actors.equity_recorder import EquityRecorder
from daemon.actors.http_server import HttpServer
from daemon.actors.market_hub import MarketHub
from daemon.actors.notifier import DiscordNotifier
from daemon.actors.order_recorder import OrderRecorder
from daemon.actors.redis_mirror import RedisMirror
from daemon.actors.season_clock import SeasonClock, SeasonEvent
from daemon.actors.settlement import SettlementActor, partition_of
from daemon.actors.sim_feeder import SimFeeder
from daemon.amqp_topology import Topology
from daemon.clock import Clock, LiveClock
from daemon.config import Settings, cost_preset, reserve_params
from daemon.database import create_pool, embedded_database_url
from daemon.edge.publisher import OrderPublisher
from daemon.engine.decide import EngineEvent
from daemon.feeds import Feeder, build_feeders
from daemon.heap import freeze_recovered_objects, freeze_startup_objects
from daemon.instruments import Instrument, load_instruments
from daemon.market_hours import MarketHours
from daemon.messages import (
    CancelAnswer,
    CancelOrder,
    CandleBar,
    ForgetUsers,
    MarketData,
    ModifyOrder,
    ModifyRefused,
    Order,
    OrderChanges,
    OrderEvent,
    SettlementCommand,
    SettleOrder,
)
from daemon.metrics import Metrics
from daemon.migrate import migrate
from daemon.price_book import PriceBook
from daemon.rankings import Rankings
from daemon.supervisor import Actor, OutsideFaults, RestartPolicy, supervise
from daemon.write_probe import WriteProbe

log = structlog.get_logger(__name__)

MARKET_BUFFER = 10_000
SETTLEMENT_BUFFER = 100_000


class CancelNotRecorded(RuntimeError):
    """Settlement failed before it could record a cancellation or modification; the order is
    as it was."""


class Platform:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        pool: asyncpg.Pool,
        instruments: list[Instrument],
        calendar: MarketHours,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.pool = pool
        self.instruments = {i.ticker_id: i for i in instruments}
        self.calendar = calendar
        self.costs = cost_preset(settings)
        self.reserve = reserve_params(settings)
        self.book = PriceBook(
            clock,
            timedelta(seconds=settings.stale_after_seconds),
            timedelta(seconds=settings.fx_stale_after_seconds),
        )
        self.market_in, market_out = anyio.create_memory_object_stream[MarketData](MARKET_BUFFER)
        self.hub = MarketHub(self.book, market_out)
        # Order events are never dropped; listeners drain them quickly into their own queues.
        self._order_listeners: list[ObjectSendStream[OrderEvent]] = []
        # The primary listener: the websocket hub in the daemon, the test or bench otherwise.
        self.events_out = self.listen_orders()
        self.recorder = OrderRecorder(pool)
        self.write_probe = WriteProbe(pool)
        self.faults = OutsideFaults()  # actors waiting for an outside fault to clear (readiness)
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
                    costs=self.costs,
                    reserve=self.reserve,
                    gtc_days=settings.gtc_days,
                    clock=clock,
                    inbox=receive,
                    publish=self.publish_order,
                    wake=send,
                    max_open_orders=settings.max_open_orders,
                    mark_write_interval=settings.trail_mark_write_seconds,
                )
            )
            self.hub.add_listener(self.settlement[-1].on_market)
        self.feeders: list[Feeder] = []
        if "sim" in settings.feeds:
            self.feeders.append(
                SimFeeder(
                    instruments,
                    self.market_in,
                    clock,
                    calendar=calendar,
                    emit_fx="fx" not in settings.feeds,
                    pool=pool,
                )
            )
        self.feeders += build_feeders(settings, instruments, self.market_in, clock, pool)
        self.metrics = Metrics()
        self.metrics.add_gauges(self._gauges)
        self.candle_bars, candle_bars_out = anyio.create_memory_object_stream[CandleBar](
            MARKET_BUFFER
        )
        self.candles = CandleRoller(
            pool, self.subscribe_market("candles"), self.candle_bars, clock, calendar=calendar
        )
        self._candle_bars_out = candle_bars_out
        snapshot_interval = timedelta(seconds=settings.equity_interval_seconds)
        self.equity = EquityRecorder(pool, self.book, clock, snapshot_interval)
        self.rankings = Rankings(pool, self.book, clock, snapshot_interval)
        self.season_clock = SeasonClock(pool, clock, self.rankings, self.cancel, self.forget_users)
        self.badges = BadgeAwarder(
            pool,
            clock,
            self.rankings,
            self.listen_orders(),
            self.listen_seasons(),
            initial_cash_krw=settings.initial_cash_krw,
            interval=snapshot_interval,
        )
        self.extra_actors: list[Actor] = [
            Actor("candles", self.candles.run),
            Actor("equity_recorder", self.equity.run),
            Actor("season_clock", self.season_clock.run),
            Actor("badge_awarder", self.badges.run),
            Actor("board_warmer", BoardWarmer(self.rankings).run),
        ]
        if settings.discord_webhook_url:
            self.notifier = DiscordNotifier(
                settings.discord_webhook_url,
                self.listen_orders(),
                pool,
                self.book,
                clock,
                instruments=self.instruments,
                rankings=self.rankings,
                initial_cash_krw=settings.initial_cash_krw,
                seasons=self.listen_seasons(),
            )
            self.extra_actors.append(Actor("notifier", self.notifier.run))
        if settings.redis_url:
            self.redis_mirror = RedisMirror(settings.redis_url, self.subscribe_market("redis"))
            self.extra_actors.append(Actor("redis_mirror", self.redis_mirror.run))
        if settings.amqp_url:
            from daemon.actors.order_intake import OrderIntake

            self.intake = OrderIntake(self, settings.amqp_url, self.amqp_topology())
            self.extra_actors.append(Actor("order_intake", self.intake.run))
            self.metrics.add_gauges(self.intake.gauges)
        self.http: HttpServer | None = None
        self.order_publisher: OrderPublisher | None = None  # set in edge mode, by enable_http

    def amqp_topology(self) -> Topology:
        """The RabbitMQ queues of the order intake (PAPERTRADE_AMQP_QUEUE)."""
        return Topology(queue=self.settings.amqp_queue)

    def enable_http(self) -> HttpServer:
        """Add the HTTP/websocket actor: the API, the websocket hub, the web app."""
        from daemon.api.access_log import access_log
        from daemon.api.app import create_app, find_web_dir
        from daemon.api.context import ApiContext
        from daemon.api.ws_feed import FeedSights
        from daemon.api.ws_hub import WebsocketHub
        from daemon.edge.queue_gate import DatabaseOrders, QueueGate
        from daemon.http_limits import HttpLimits
        from daemon.tokens import (
            TokenMinter,
            TokenVerifier,
            load_or_create_private_key,
        )

        settings = self.settings
        key = load_or_create_private_key(settings.data_dir, settings.jwt_private_key)
        self.ws_hub = WebsocketHub(self.book, sights=FeedSights(self.pool))
        submit = None
        if settings.amqp_url:
            # One path for every order: the daemon's own POST /api/orders goes through the queue.

            self.order_publisher = OrderPublisher(
                settings.amqp_url, self.amqp_topology(), name="papertrade-daemon-api"
            )
            self.extra_actors.append(Actor("order_publisher", self.order_publisher.run))
            gate = QueueGate(self.order_publisher, DatabaseOrders(self.pool))

            async def submit(order: Order) -> tuple[Order, bool]:
                # The intake trusts only a token: the daemon vouches for its own API's callers,
                # with their current token generation (the API has just checked it).
                generation = await context.accounts.generation(order.user_id) or 0
                token = minter.mint(order.user_id, "USER", generation)
                return await gate.submit(order, token)

        minter = TokenMinter(key, self.clock, timedelta(seconds=settings.jwt_ttl_seconds))
        context = ApiContext(
            self,
            minter,
            TokenVerifier(key.public_key(), self.clock),
            self.ws_hub,
            submit,
        )
        app = create_app(context, find_web_dir(settings.web_dir))
        self.http = HttpServer(access_log(app), settings.http_host, settings.http_port)
        self.http.limits = HttpLimits(exempt=context.trusted_proxies)
        market = self.subscribe_market("websockets", books=True)
        self.extra_actors += [
            Actor(
                "websocket_hub",
                lambda: self.ws_hub.run(market, self.events_out, self._candle_bars_out),
            ),
            Actor("http", self.http.run),
        ]
        return self.http

    def _gauges(self):  # type: ignore[no-untyped-def]
        now = self.clock.now()
        for actor, inbox in zip(self.settlement, self._inboxes, strict=True):
            labels = {"partition": str(actor.index)}
            yield ("papertrade_settlement_queue_depth", "Commands waiting per settlement partition",
                   labels, inbox.statistics().current_buffer_used)  # fmt: skip
            yield ("papertrade_resting_limit_orders", "Limit orders waiting for their price",
                   labels, actor.resting_orders)  # fmt: skip
        yield ("papertrade_database_writable", "1 if the last write probe (by /readyz) committed",
               {}, int(self.write_probe.last_answer))  # fmt: skip
        yield ("papertrade_actors_waiting_for_outside_fault",
               "Actors restarting until an outside fault clears (no restart budget spent)", {},
               len(self.faults.waiting))  # fmt: skip
        yield ("papertrade_market_queue_depth", "Quotes waiting for the market hub", {},
               self.market_in.statistics().current_buffer_used)  # fmt: skip
        for name, dropped in self.hub.dropped.items():
            yield ("papertrade_market_dropped", "Quotes a slow subscriber missed",
                   {"subscriber": name}, dropped)  # fmt: skip
        for actor in self.settlement:
            yield ("papertrade_settlement_quotes_coalesced",
                   "Quotes a settlement partition did not judge (its backlog of a ticker was full)",
                   {"partition": str(actor.index)}, actor.quotes_coalesced)  # fmt: skip
        for feeder in self.feeders:
            age = (
                -1.0
                if feeder.last_received is None
                else (now - feeder.last_received).total_seconds()
            )
            yield ("papertrade_feed_age_seconds", "Seconds since a feed's last message (-1: none yet)",
                   {"feed": feeder.name}, age)  # fmt: skip
            labels = {"feed": feeder.name}
            yield ("papertrade_feed_stale_quotes", "Tickers of a feed whose latest quote is stale",
                   labels, self.book.stale_quotes(feeder.name))  # fmt: skip
            # Counters of the feeders that have them: books received, REST polls of quiet ones.
            for attribute, name, text in (
                ("books", "papertrade_feed_books", "Order books a feed has sent"),
                ("polled", "papertrade_feed_polled", "Quotes a feed polled over REST"),
            ):
                if hasattr(feeder, attribute):
                    yield (name, text, labels, getattr(feeder, attribute))
        yield ("papertrade_order_books_fresh", "Tickers with a fresh order book", {},
               self.book.fresh_books())  # fmt: skip
        yield ("papertrade_market_books", "Order books through the market hub", {},
               self.hub.books)  # fmt: skip
        if self.http is not None:
            yield ("papertrade_websocket_clients", "Connected websocket clients", {},
                   len(self.ws_hub.clients))  # fmt: skip
            yield ("papertrade_websocket_dropped", "Quotes dropped for slow websocket clients", {},
                   self.ws_hub.dropped())  # fmt: skip

    def subscribe_market(
        self, name: str, buffer: int = MARKET_BUFFER, *, books: bool = False
    ) -> ObjectReceiveStream[MarketData]:
        """A bounded stream of every quote and rate, and of every order book if `books`
        (drops counted by the hub when full)."""
        send, receive = anyio.create_memory_object_stream[MarketData](buffer)
        self.hub.add_subscriber(name, send, books=books)
        return receive

    def listen_orders(self) -> ObjectReceiveStream[OrderEvent]:
        """Every order event from now on (accepted, filled, failed, cancelled), none dropped."""
        send, receive = anyio.create_memory_object_stream[OrderEvent](math.inf)
        self._order_listeners.append(send)
        return receive

    def listen_seasons(self) -> ObjectReceiveStream[SeasonEvent]:
        """Every season start and end from now on, none dropped."""
        send, receive = anyio.create_memory_object_stream[SeasonEvent](math.inf)
        self.season_clock.listen(send)
        return receive

    def publish_order(self, event: OrderEvent) -> None:
        self.metrics.on_order(event, self.clock.now().timestamp())
        for listener in tuple(self._order_listeners):
            try:
                listener.send_nowait(event)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._order_listeners.remove(listener)

    def actors(self) -> list[Actor]:
        return [
            Actor("market_hub", self.hub.run),
            Actor("order_recorder", self.recorder.run),
            *(Actor(f"settlement_{a.index}", a.run) for a in self.settlement),
            *(Actor(f"feed_{f.name}", f.run) for f in self.feeders),
            *self.extra_actors,
        ]

    async def serve(self) -> None:
        """Run every actor until cancelled (SIGTERM, SIGINT). Stopping drains first: the HTTP
        server closes its listener and answers the requests it has while the recorder and
        settlement still run; only then are they and the other actors stopped."""
        policy = RestartPolicy(
            max_restarts=self.settings.max_restarts, window=self.settings.restart_window_seconds
        )
        actors = self.actors()
        drained_first = [a for a in actors if a.name == "http"]
        rest = [a for a in actors if a.name != "http"]
        # Shielded while there is a server to drain; cancelled once it has.
        rest_scope = anyio.CancelScope(shield=bool(drained_first))

        async def run_rest() -> None:
            with rest_scope:
                await supervise(rest, policy, self.faults)

        async def freeze_when_recovered() -> None:
            for actor in self.settlement:
                await actor.ready.wait()
            freeze_recovered_objects()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_rest)
            tg.start_soon(freeze_when_recovered)
            try:
                await supervise(drained_first, policy, self.faults)
            finally:
                if drained_first:  # the server has stopped (drained): nothing more can come in
                    rest_scope.cancel()

    def inbox_of(self, user_id: UUID) -> ObjectSendStream[SettlementCommand]:
        """The settlement partition that owns `user_id`."""
        return self._inboxes[partition_of(user_id, len(self._inboxes))]

    async def forget_users(self, user_ids: Iterable[UUID]) -> None:
        """Tell settlement that these accounts (cash, positions, season) changed outside it, and
        the websocket hub that who sees their fills may have (a season's start or end)."""
        user_ids = list(user_ids)
        if self.http is not None:
            self.ws_hub.forget(user_ids)
        owned: dict[int, set[UUID]] = {}
        for user_id in user_ids:
            owned.setdefault(partition_of(user_id, len(self._inboxes)), set()).add(user_id)
        for partition, ids in owned.items():
            await self._inboxes[partition].send(ForgetUsers(frozenset(ids)))

    async def submit(self, order: Order) -> tuple[Order, bool]:
        """Record `order` durably as PENDING, then hand it to its user's settlement partition.

        Returns the stored order and whether it is new (False: a retry of a known order). A
        retry of one still PENDING is handed over again: its first answer may have been lost
        before it reached settlement (which drops an order it already has)."""
        stored, created = await self.recorder.record(order)
        if created:
            self.announce_accepted(stored)
        if stored.status == "PENDING":
            inbox = self.inbox_of(stored.user_id)
            try:
                # Without a trip round the event loop when the partition has room (send() always
                # yields first): the request already waited for its commit.
                inbox.send_nowait(SettleOrder(stored))
            except anyio.WouldBlock:
                await inbox.send(SettleOrder(stored))
        return stored, created

    def announce_accepted(self, order: Order) -> None:
        """Log and publish a newly recorded PENDING order (from the API or the intake queue):
        the websocket's `accepted` event (settlement records it in the order's history)."""
        log.info(  # ids and decimals as they are: the log writer's thread renders them
            "order_accepted",
            order_id=order.id,
            user_id=order.user_id,
            ticker_id=order.ticker_id,
            side=order.side,
            type=order.type,
            time_in_force=order.time_in_force,
            quantity=order.quantity,
            amount_krw=order.amount_krw,
        )
        self.publish_order(OrderEvent(order, EngineEvent(kind="accepted", at=order.created_at)))

    async def cancel(
        self, user_id: UUID, order_id: UUID, reason: str = "user_cancelled"
    ) -> CancelAnswer | None:
        """Cancel an open order of `user_id` (CANCELLED `reason`; the filled part stands): the
        order as it ends up and whether this cancelled it; None if not theirs. Raises
        CancelNotRecorded if settlement failed (the database away) before answering."""
        reply_send, reply_receive = anyio.create_memory_object_stream[CancelAnswer | None](1)
        await self.inbox_of(user_id).send(CancelOrder(user_id, order_id, reply_send, reason))
        async with reply_receive:
            try:
                return await reply_receive.receive()
            except anyio.EndOfStream:
                raise CancelNotRecorded(order_id) from None

    async def modify(
        self, user_id: UUID, order_id: UUID, changes: OrderChanges
    ) -> Order | ModifyRefused:
        """Modify an open order of `user_id` (PATCH): decided by its settlement partition in
        order with everything else it does. Raises CancelNotRecorded if settlement failed
        before answering (the order is as it was)."""
        reply_send, reply_receive = anyio.create_memory_object_stream[Order | ModifyRefused](1)
        await self.inbox_of(user_id).send(ModifyOrder(user_id, order_id, changes, reply_send))
        async with reply_receive:
            try:
                return await reply_receive.receive()
            except anyio.EndOfStream:
                raise CancelNotRecorded(order_id) from None


@asynccontextmanager
async def open_platform(
    settings: Settings, clock: Clock | None = None, *, http: bool = False
) -> AsyncIterator[Platform]:
    """Connect (starting the embedded PostgreSQL if no URL is set), migrate, build the actors."""
    url = settings.database_url or await embedded_database_url(settings.data_dir)
    pool = await create_pool(url, max_size=max(10, settings.partitions + 6))
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        instruments = await load_instruments(pool)
        calendar = MarketHours()
        await anyio.to_thread.run_sync(calendar.warm_up)
        platform = Platform(
            settings,
            clock or LiveClock(),
            pool,
            instruments,
            calendar,
        )
        if http:
            platform.enable_http()
        freeze_startup_objects()  # start-up is done: what it built lives as long as the process
        yield platform
    finally:
        with anyio.move_on_after(10, shield=True):
            await pool.close()
