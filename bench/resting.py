"""Resting orders end to end (issue 11 item 10): ticks through the daemon to fills committed.

100,000 resting orders (limits, stops, trailing stops) across 1,000 users and 60 tickers are
written to a scratch PostgreSQL as accepted open orders (by a child process, so the peak RSS is
the daemon's own), so the daemon's settlement actors take them up on start (the restart path:
ledger, index, expiries and marks rebuilt). Then ticks
go in through the market hub, as a feeder's do, at 2,000/s for 60 s on random-walk price paths
that reach 10 % of the orders. Prints the start-up recovery time, p50/p99 from the
crossing tick's send to its fill's commit (the order event after the commit), CPU per tick
and peak RSS. Targets: p99 < 50 ms, RSS < 500 MB.

    .venv/bin/python -m bench.resting [--quick] [--orders 100000] [--seconds 60] [--rate 2000]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import anyio.to_process
import asyncpg
import msgspec
import psutil

from bench.common import bulk_users, percentile, scratch_database
from daemon.config import load_settings
from daemon.engine.costs import KR_BROKER_2026, trade_date
from daemon.engine.orders import EngineOrder
from daemon.engine.reservations import ReserveParams, cash_needed
from daemon.engine.ticks import UPBIT_KRW_2025
from daemon.engine.triggers import trailing_stop_price
from daemon.logs import configure_logging
from daemon.messages import Quote
from daemon.platform import open_platform
from daemon.streams import batches

START = Decimal(10000)
HELD = Decimal(1_000_000)  # every user holds this much of every ticker, for the SELL orders


def make_orders(
    count: int, users: list[uuid.UUID], tickers: list[str], rng: random.Random, now: datetime
) -> list[EngineOrder]:
    """Open orders resting 3-23.3 % away from the start, on the side where only a move reaches:
    the farthest chosen so that the seeded price paths of `bench` cross 10 % of them."""
    orders = []
    for _ in range(count):
        side = rng.choice(("BUY", "SELL"))
        kind = rng.choice(("LIMIT", "LIMIT", "STOP", "TRAILING_STOP"))
        away = Decimal(rng.randint(300, 2330)) / 10000
        below = (side == "BUY") == (kind == "LIMIT")
        price = UPBIT_KRW_2025.round_down(START * (1 - away if below else 1 + away))
        order = EngineOrder(
            id=uuid.uuid4(),
            user_id=rng.choice(users),
            ticker_id=rng.choice(tickers),
            side=side,
            type=kind,
            time_in_force="GTC",
            currency="KRW-COIN",
            created_at=now,
            quantity=Decimal(1),
            limit_price=price if kind == "LIMIT" else None,
            stop_price=price if kind == "STOP" else None,
            trail_percent=Decimal(rng.randint(5, 30)) if kind == "TRAILING_STOP" else None,
            trail_mark=START if kind == "TRAILING_STOP" else None,
            expires_at=now + timedelta(days=90),
            resting_since=now,
        )
        if kind == "TRAILING_STOP":
            order = _replace(order, stop_price=trailing_stop_price(order, START, UPBIT_KRW_2025))
        reserved = cash_needed(
            order,
            reference_price=START,
            fx_rate=None,
            costs=KR_BROKER_2026,
            on=trade_date("CRYPTO", now),
            params=ReserveParams(),
        )
        orders.append(_replace(order, reserved_krw=reserved))
    return orders


def _replace(order: EngineOrder, **changes: object) -> EngineOrder:
    return msgspec.structs.replace(order, **changes)  # type: ignore[arg-type]


async def seed(url: str, args: argparse.Namespace, rng: random.Random) -> list[str]:
    users = await bulk_users(url, args.users)
    tickers = [f"CRYPTO-COIN-B{i:03d}" for i in range(args.tickers)]
    now = datetime.now(UTC)
    orders = make_orders(args.orders, users, tickers, rng, now)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO instruments (ticker_id, name, market, currency, exchange,"
                " sim_start_price) SELECT t, t, 'CRYPTO', 'KRW-COIN', 'UPBIT', $2"
                " FROM unnest($1::text[]) AS t",
                tickers,
                START,
            )
            await conn.execute(
                "INSERT INTO portfolios (user_id, ticker_id, quantity, average_price, currency,"
                " updated_at) SELECT u, t, $3, $4, 'KRW-COIN', now()"
                " FROM unnest($1::uuid[]) AS u CROSS JOIN unnest($2::text[]) AS t",
                users,
                tickers,
                HELD,
                START,
            )
            columns = (
                "id", "user_id", "ticker_id", "side", "type", "quantity", "limit_price",
                "stop_price", "trail_percent", "trail_mark", "reserved_krw", "expires_at",
                "resting_since", "created_at",
            )  # fmt: skip
            await conn.copy_records_to_table(
                "orders",
                records=[
                    (*(getattr(o, c) for c in columns), "KRW-COIN", "GTC", "PENDING")
                    for o in orders
                ],
                columns=[*columns, "currency", "time_in_force", "status"],
            )
        # As autovacuum would have within a minute of such a load: the planner's statistics.
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return tickers


def seed_apart(url: str, args: argparse.Namespace) -> list[str]:
    """`seed` in a process of its own (its 100,000 orders never count in the daemon's RSS)."""
    return anyio.run(seed, url, args, random.Random(11))


async def bench(args: argparse.Namespace) -> None:
    rng = random.Random(12)  # the price paths
    async with scratch_database() as url:
        tickers = await anyio.to_process.run_sync(seed_apart, url, args, cancellable=True)
        settings = load_settings(
            {
                "PAPERTRADE_DATABASE_URL": url,
                "PAPERTRADE_FEEDS": "none",
                "PAPERTRADE_PARTITIONS": str(args.partitions),
            }
        )
        async with open_platform(settings) as platform, anyio.create_task_group() as tg:
            started = time.perf_counter()
            tg.start_soon(platform.serve)
            for actor in platform.settlement:
                await actor.ready.wait()
            resting = sum(a.resting_orders for a in platform.settlement)
            print(
                f"recovered {resting} resting orders in {time.perf_counter() - started:.2f} s;"
                f" RSS {_rss_mb():.0f} MB"
            )
            # Wall-clock times on both sides: a tick's received_at is the instant it was sent, so
            # no per-tick bookkeeping of the bench's own sits in the daemon's memory.
            committed: dict[uuid.UUID, float] = {}

            async def collect() -> None:
                async for events in batches(platform.events_out):
                    for event in events:
                        if event.event.kind == "filled":
                            committed[event.order.id] = time.time()

            tg.start_soon(collect)
            prices = dict.fromkeys(tickers, START)
            total = args.rate * args.seconds
            cpu = time.process_time()
            t0 = time.perf_counter()
            for n in range(total):
                ticker = tickers[n % len(tickers)]
                tick_size = UPBIT_KRW_2025.tick_at(prices[ticker])
                step = Decimal(rng.choice((-1, 1))) * tick_size * rng.randint(0, 3)
                last = max(tick_size, prices[ticker] + step)
                prices[ticker] = last
                now = datetime.now(UTC)
                quote = Quote(
                    ticker_id=ticker, price=last, bid=last - 5, ask=last + 5,
                    currency="KRW-COIN", ts=now, received_at=now, source="bench",
                )  # fmt: skip
                await platform.market_in.send(quote)
                if n % 50 == 49:  # keep to the rate: sleep off what is ahead of schedule
                    ahead = t0 + (n + 1) / args.rate - time.perf_counter()
                    await anyio.sleep(max(ahead, 0))
            elapsed = time.perf_counter() - t0
            await anyio.sleep(3)  # the last fills
            cpu = time.process_time() - cpu
            rows = await platform.pool.fetch("SELECT order_id, quote_received_at FROM order_fills")
            tg.cancel_scope.cancel()
    latencies = [
        committed[row["order_id"]] - row["quote_received_at"].timestamp()
        for row in rows
        if row["order_id"] in committed
    ]
    print(
        f"{total} ticks in {elapsed:.1f} s ({total / elapsed:,.0f}/s); {len(rows)} fills "
        f"({100 * len(rows) / args.orders:.1f} % of the orders), {len(latencies)} timed"
    )
    if latencies:
        print(
            f"crossing tick -> fill committed: p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
        )
    print(f"CPU {cpu / total * 1e6:.0f} µs per tick (the whole daemon process, all actors)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 orders, 20 tickers, 10 s")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--tickers", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    if args.quick:
        args.orders, args.users, args.tickers, args.seconds = 20_000, 200, 20, 10
    configure_logging("warning")
    anyio.run(bench, args, backend_options={"use_uvloop": True})


if __name__ == "__main__":
    main()
