"""Benchmark the market-data path: quotes/second through the market hub and price book with the
Redis mirror and the candle roller subscribed, and the source-to-subscriber delay; then order
books: 60 tickers with 15-level books at 20 updates a second each plus trades, through the hub
and the websocket hub (5 books a second per ticker to a client naming them all), with the
delay to an in-process subscriber and to the websocket client's queue, and the CPU used.

Prints figures, asserts nothing. Needs the PostgreSQL (it makes and drops a database of its own)
and the Redis the tests use:

    .venv/bin/python bench/feed.py [--quotes 200000] [--rate 20000] [--seconds 5]
        [--book-tickers 60] [--book-rate 20] [--trade-rate 5] [--book-seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path

import anyio
import asyncpg
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.actors.candle_roller import CandleRoller
from daemon.actors.market_hub import MarketHub
from daemon.actors.redis_mirror import RedisMirror
from daemon.api.ws_hub import WebsocketHub
from daemon.clock import LiveClock
from daemon.database import create_pool
from daemon.engine.market import BookLevel
from daemon.instruments import load_instruments
from daemon.messages import MarketData, OrderBook, OrderEvent, Quote
from daemon.migrate import migrate
from daemon.price_book import PriceBook

BUFFER = 10_000
ADMIN_URL = os.environ.get("PAPERTRADE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PAPERTRADE_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Rig:
    """The hub and its subscribers as the daemon wires them; the "ws" one measures delays."""

    def __init__(self, pool: asyncpg.Pool, prefix: str) -> None:
        self.clock = LiveClock()
        self.book = PriceBook(self.clock)
        self.inbox, hub_in = anyio.create_memory_object_stream[MarketData](BUFFER)
        mirror_in, self._mirror_out = anyio.create_memory_object_stream[MarketData](BUFFER)
        roller_in, self._roller_out = anyio.create_memory_object_stream[MarketData](BUFFER)
        probe_in, self._probe_out = anyio.create_memory_object_stream[MarketData](BUFFER)
        self.hub = MarketHub(
            self.book, hub_in, [("redis", mirror_in), ("candles", roller_in), ("ws", probe_in)]
        )
        self.mirror = RedisMirror(REDIS_URL, self._mirror_out, prefix=prefix)
        self.roller = CandleRoller(pool, self._roller_out, None, self.clock)
        self.prefix = prefix
        self.ws_delays: list[float] = []
        self.redis_delays: list[float] = []
        self.ws_seen = 0
        self.measuring = False

    async def probe_ws(self) -> None:
        """Stands in for the websocket hub: one consumer of the hub's fan-out."""
        async for data in self._probe_out:
            self.ws_seen += 1
            if self.measuring and isinstance(data, Quote):
                self.ws_delays.append((datetime.now(UTC) - data.received_at).total_seconds())


def redis_probe(prefix: str, conn: Connection) -> None:
    """In a process of its own, as another host's consumer would be: subscribe to market_updates,
    note each message's delay since the quote was received, send back the ones inside a window.

    Reads the RESP stream directly: redis-py's pure-Python pub/sub reader (no hiredis here)
    could not keep up with 20,000 messages a second and would measure itself instead.
    """
    import asyncio
    import socket
    from urllib.parse import urlsplit

    marker = b'"received_at":"'

    async def listen() -> None:
        target = urlsplit(REDIS_URL)
        reader, writer = await asyncio.open_connection(target.hostname, target.port or 6379)
        channel = f"{prefix}market_updates".encode()
        writer.write(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
        await writer.drain()
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.send("ready")
        seen: list[tuple[datetime, float]] = []
        pending = b""
        while not conn.poll():
            try:
                chunk = await asyncio.wait_for(reader.read(1 << 20), 0.05)
            except TimeoutError:
                continue
            now = datetime.now(UTC)
            pending += chunk
            at, done = pending.find(marker), 0
            while at >= 0:  # every payload carries one received_at, whatever the framing
                end = pending.find(b'"', at + len(marker))
                if end < 0:
                    break
                sent = datetime.fromisoformat(pending[at + len(marker) : end].decode())
                seen.append((sent, (now - sent).total_seconds()))
                done = end
                at = pending.find(marker, end)
            pending = pending[at:] if at >= 0 else pending[max(done, len(pending) - 64) :]
        start, stop = conn.recv()
        conn.send([delay for sent, delay in seen if start <= sent <= stop])
        writer.close()

    asyncio.run(listen())


def make_quotes(tickers: list[str]) -> list[tuple[str, Decimal]]:
    return [(t, Decimal(1000 + i) + Decimal("0.25")) for i, t in enumerate(tickers)]


async def flat_out(rig: Rig, tickers: list[str], count: int) -> dict[str, float]:
    """Push `count` quotes as fast as the hub takes them."""
    prices = make_quotes(tickers)
    now = rig.clock.now
    started = time.perf_counter()
    start_received = rig.hub.received
    for i in range(count):
        ticker, price = prices[i % len(prices)]
        at = now()
        await rig.inbox.send(
            Quote(ticker_id=ticker, price=price, currency="KRW", ts=at, received_at=at,
                  source="bench", volume=Decimal(1))
        )  # fmt: skip
    while rig.hub.received - start_received < count:  # noqa: ASYNC110 - counters, no events
        await anyio.sleep(0.001)
    hub_seconds = time.perf_counter() - started
    return {"hub_quotes_per_s": count / hub_seconds, "seconds": hub_seconds}


async def paced(rig: Rig, tickers: list[str], rate: int, seconds: float) -> dict[str, float]:
    """Push quotes at `rate` per second (in 5 ms ticks) and record the delay to subscribers."""
    prices = make_quotes(tickers)
    tick = 0.005
    per_tick = max(1, round(rate * tick))
    rig.ws_delays.clear()
    rig.redis_delays.clear()
    rig.measuring = True
    sent = 0
    started = time.perf_counter()
    deadline = started + seconds
    next_tick = started
    while time.perf_counter() < deadline:
        at = rig.clock.now()
        for _ in range(per_tick):
            ticker, price = prices[sent % len(prices)]
            await rig.inbox.send(
                Quote(ticker_id=ticker, price=price, currency="KRW", ts=at, received_at=at,
                      source="bench", volume=Decimal(1))
            )  # fmt: skip
            sent += 1
        next_tick += tick
        await anyio.sleep(max(0.0, next_tick - time.perf_counter()))
    elapsed = time.perf_counter() - started
    await anyio.sleep(0.5)  # let the last ones arrive
    rig.measuring = False
    return {"offered_per_s": sent / elapsed, "sent": sent}


def make_books(ticker: str, variants: int = 8) -> list[OrderBook]:
    """A few 15-level books of `ticker` to cycle through (times replaced on sending)."""
    at = datetime.now(UTC)
    books = []
    for v in range(variants):
        best = Decimal(100_000_000 + 1000 * v)
        books.append(
            OrderBook(
                ticker_id=ticker,
                bids=tuple(
                    BookLevel(best - 1000 * i, Decimal("0.0123") * (i + 1)) for i in range(15)
                ),
                asks=tuple(
                    BookLevel(best + 1000 * (i + 1), Decimal("0.0456") * (i + 1)) for i in range(15)
                ),
                ts=at,
                received_at=at,
                source="bench",
            )
        )
    return books


async def books_run(rig: Rig, args: argparse.Namespace) -> None:
    """60 tickers x 20 books a second + trades, through the hub to the websocket hub."""
    import msgspec

    tickers = [f"CRYPTO-COIN-B{n:03d}" for n in range(args.book_tickers)]
    ws = WebsocketHub(rig.book)
    client = ws.connect()
    ws.subscribe(client, tickers)
    market_in, market_out = anyio.create_memory_object_stream[MarketData](BUFFER)
    probe_in, probe_out = anyio.create_memory_object_stream[MarketData](BUFFER)
    rig.hub.add_subscriber("websockets", market_in, books=True)
    rig.hub.add_subscriber("book_probe", probe_in, books=True)
    _, orders = anyio.create_memory_object_stream[OrderEvent](1)
    hub_delays: list[float] = []
    ws_delays: dict[str, list[float]] = {"book": [], "quote": []}
    measuring = False

    async def probe() -> None:
        async for data in probe_out:
            if measuring:
                hub_delays.append((datetime.now(UTC) - data.received_at).total_seconds())

    async def reader() -> None:
        decode = msgspec.json.Decoder().decode
        while True:
            await client.wakeup.wait()
            now = datetime.now(UTC)
            for text in client.take():
                if not measuring:
                    continue
                message = decode(text)
                kind = message.get("type")
                if kind in ws_delays:
                    sent = datetime.fromisoformat(message["received_at"])
                    ws_delays[kind].append((now - sent).total_seconds())

    books = {t: make_books(t) for t in tickers}
    replace = msgspec.structs.replace
    tick = 0.005
    books_per_tick = args.book_tickers * args.book_rate * tick
    trades_per_tick = args.book_tickers * args.trade_rate * tick
    async with anyio.create_task_group() as tg:
        tg.start_soon(ws.run, market_out, orders)
        tg.start_soon(probe)
        tg.start_soon(reader)
        await anyio.sleep(0.2)
        measuring = True
        sent_books = sent_trades = 0
        owed_books = owed_trades = 0.0
        cpu_started, started = time.process_time(), time.perf_counter()
        deadline, next_tick = started + args.book_seconds, started
        while time.perf_counter() < deadline:
            at = rig.clock.now()
            owed_books += books_per_tick
            owed_trades += trades_per_tick
            while owed_books >= 1:
                ticker = tickers[sent_books % len(tickers)]
                variant = books[ticker][(sent_books // len(tickers)) % 8]
                await rig.inbox.send(replace(variant, ts=at, received_at=at))
                sent_books += 1
                owed_books -= 1
            while owed_trades >= 1:
                ticker = tickers[sent_trades % len(tickers)]
                await rig.inbox.send(
                    Quote(ticker_id=ticker, price=Decimal(100_000_000 + sent_trades % 100),
                          bid=Decimal(100_000_000), ask=Decimal(100_001_000), currency="KRW-COIN",
                          ts=at, received_at=at, source="bench", volume=Decimal("0.01"))
                )  # fmt: skip
                sent_trades += 1
                owed_trades -= 1
            next_tick += tick
            await anyio.sleep(max(0.0, next_tick - time.perf_counter()))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await anyio.sleep(0.5)
        measuring = False
        tg.cancel_scope.cancel()
    print(
        f"books: {args.book_tickers} tickers x {args.book_rate}/s 15-level books"
        f" + {args.trade_rate}/s trades each, {args.book_seconds:g} s"
    )
    print(
        f"  offered: {sent_books / elapsed:,.0f} books/s + {sent_trades / elapsed:,.0f} quotes/s"
        f" = {(sent_books + sent_trades) / elapsed:,.0f}/s"
        f"  (hub took {rig.hub.books:,} books in all)"
    )
    print(f"  CPU of this process: {100 * cpu / elapsed:.0f} % of one core")
    for label, delays in (
        ("in-process subscriber", hub_delays),
        ("websocket queue, books", ws_delays["book"]),
        ("websocket queue, quotes", ws_delays["quote"]),
    ):
        ms = [d * 1000 for d in delays]
        if ms:
            print(
                f"  {label:<25} p50 {statistics.median(ms):7.2f} ms"
                f"  p99 {percentile(ms, 99):7.2f} ms  max {max(ms):7.2f} ms  ({len(ms):,})"
            )
    per_ticker = len(ws_delays["book"]) / args.book_tickers / elapsed
    print(
        f"  books to the websocket: {per_ticker:.1f}/s per ticker"
        f" (at most 5; {ws.books_coalesced:,} replaced by a newer one while held)"
    )
    print(f"  hub drops: {rig.hub.dropped}")


async def main(args: argparse.Namespace) -> None:
    name = f"pt_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    pool = await create_pool(url)
    prefix = f"pt-bench-{uuid.uuid4().hex[:8]}:"
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        tickers = [i.ticker_id for i in await load_instruments(pool)]
        rig = Rig(pool, prefix)
        async with anyio.create_task_group() as tg:
            tg.start_soon(rig.hub.run)
            tg.start_soon(rig.mirror.run)
            tg.start_soon(rig.roller.run)
            tg.start_soon(rig.probe_ws)
            parent, child = multiprocessing.get_context("spawn").Pipe()
            probe = multiprocessing.get_context("spawn").Process(
                target=redis_probe, args=(prefix, child), daemon=True
            )
            probe.start()
            await anyio.to_thread.run_sync(parent.recv)  # "ready"

            await flat_out(rig, tickers, 5_000)  # warm up: connections, code paths
            while rig.mirror.written + rig.mirror.dropped < 5_000:  # noqa: ASYNC110
                await anyio.sleep(0.005)
            base_written, base_dropped = rig.mirror.written, rig.mirror.dropped
            base_hub_drops = dict(rig.hub.dropped)
            flat = await flat_out(rig, tickers, args.quotes)
            drain_started = time.perf_counter()
            expected = args.quotes - (rig.hub.dropped["redis"] - base_hub_drops["redis"])
            while rig.mirror.written + rig.mirror.dropped - base_written - base_dropped < expected:  # noqa: ASYNC110
                await anyio.sleep(0.005)
            drain = time.perf_counter() - drain_started
            await rig.roller.flush()
            print(f"flat out, {args.quotes} quotes over {len(tickers)} tickers")
            print(f"  hub + price book:      {flat['hub_quotes_per_s']:>10,.0f} quotes/s")
            print(
                f"  mirror written:        {rig.mirror.written - base_written:>10,}"
                f"  (dropped by mirror {rig.mirror.dropped - base_dropped},"
                f" by hub {rig.hub.dropped['redis'] - base_hub_drops['redis']})"
            )
            print(f"  mirror caught up:      {drain * 1000:>10.0f} ms after the hub")
            print(
                f"  candle roller ticks:   {rig.roller.ticks:>10,}"
                f"  (hub drops {rig.hub.dropped['candles'] - base_hub_drops['candles']},"
                f" flushes {rig.roller.flushes})"
            )
            print(f"  ws probe hub drops:    {rig.hub.dropped['ws'] - base_hub_drops['ws']:>10,}")

            drops_before = dict(rig.hub.dropped)
            mirror_before = rig.mirror.written
            window_start = datetime.now(UTC)
            result = await paced(rig, tickers, args.rate, args.seconds)
            parent.send((window_start, datetime.now(UTC)))
            rig.redis_delays = await anyio.to_thread.run_sync(parent.recv)
            probe.join(5)
            print(
                f"paced at {args.rate:,}/s for {args.seconds:g} s"
                f" (offered {result['offered_per_s']:,.0f}/s, {result['sent']:,} quotes)"
            )
            for label, delays in (
                ("in-process subscriber", rig.ws_delays),
                ("Redis pub/sub subscriber", rig.redis_delays),
            ):
                ms = [d * 1000 for d in delays]
                if ms:
                    print(
                        f"  {label:<25} p50 {statistics.median(ms):7.2f} ms"
                        f"  p99 {percentile(ms, 99):7.2f} ms  max {max(ms):7.2f} ms"
                        f"  ({len(ms):,} samples)"
                    )
            print(
                f"  hub drops: { {k: v - drops_before[k] for k, v in rig.hub.dropped.items()} }"
                f"  mirror written {rig.mirror.written - mirror_before:,}"
            )
            rows = await pool.fetchval("SELECT count(*) FROM candles_1m")
            print(f"  candle rows in PostgreSQL: {rows}")
            await books_run(rig, args)
            tg.cancel_scope.cancel()
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        client = aioredis.Redis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quotes", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--book-tickers", type=int, default=60)
    parser.add_argument("--book-rate", type=int, default=20, help="books a second per ticker")
    parser.add_argument("--trade-rate", type=int, default=5, help="trades a second per ticker")
    parser.add_argument("--book-seconds", type=float, default=10.0)
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 20,000 quotes, 2 s paced, 5 s of books"
    )
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.quotes, arguments.rate, arguments.seconds = 20_000, 5_000, 2.0
        arguments.book_seconds = 5.0
    anyio.run(main, arguments)
