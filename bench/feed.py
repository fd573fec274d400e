"""Benchmark the market-data path: quotes/second through the market hub and price book with the
Redis mirror and the candle roller subscribed, and the source-to-subscriber delay.

Prints figures, asserts nothing. Needs the PostgreSQL (it makes and drops a database of its own)
and the Redis the tests use:

    .venv/bin/python bench/feed.py [--quotes 200000] [--rate 20000] [--seconds 5]
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
from daemon.clock import LiveClock
from daemon.database import create_pool
from daemon.instruments import load_instruments
from daemon.messages import MarketData, Quote
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
    anyio.run(main, parser.parse_args())
