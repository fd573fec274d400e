"""The pure part of the resting-order benchmark (issue 11 item 10): the engine alone, no database.

100,000 resting orders (limits, stops, trailing stops) across 1,000 users and 60 tickers; a
random-walk price path per ticker whose ticks cross about 10 % of them. Prints the time per
tick to wake() the crossed orders and decide() each, CPU per tick, and peak RSS. The end-to-end
figures (crossing tick to the fill's commit) come with phase 2's wiring.

    .venv/bin/python -m bench.resting [--orders 100000] [--ticks 120000]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import percentile
from daemon.engine.costs import KR_BROKER_2026
from daemon.engine.decide import Account, Position, decide
from daemon.engine.market import MarketSnapshot, QuoteView, Session
from daemon.engine.orders import EngineOrder
from daemon.engine.resting_index import RestingIndex
from daemon.engine.ticks import UPBIT_KRW_2025
from daemon.engine.triggers import index_keys
from daemon.engine.wake import wake

T0 = datetime(2026, 12, 1, tzinfo=UTC)
START = Decimal(10000)


def make_orders(
    count: int, users: list[uuid.UUID], tickers: list[str], rng: random.Random
) -> list[EngineOrder]:
    orders = []
    for i in range(count):
        side = rng.choice(("BUY", "SELL"))
        kind = rng.choice(("LIMIT", "LIMIT", "STOP", "TRAILING_STOP"))
        # Prices 3-30 % away from the start, on the wrong side, so only a big move reaches them.
        away = Decimal(rng.randint(300, 3000)) / 10000
        below = (side == "BUY") == (kind == "LIMIT")
        price = UPBIT_KRW_2025.round_down(START * (1 - away if below else 1 + away))
        fields: dict[str, object] = {}
        if kind == "LIMIT":
            fields["limit_price"] = price
        elif kind == "STOP":
            fields["stop_price"] = price
        else:
            fields["trail_percent"] = Decimal(rng.randint(5, 30))
            fields["trail_mark"] = START
            fields["stop_price"] = price
        orders.append(
            EngineOrder(
                id=uuid.UUID(int=i + 1),
                user_id=rng.choice(users),
                ticker_id=rng.choice(tickers),
                side=side,
                type=kind,
                time_in_force="GTC",
                currency="KRW",
                created_at=T0,
                quantity=Decimal(1),
                resting_since=T0,
                **fields,
            )
        )
    return orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--tickers", type=int, default=60)
    parser.add_argument("--ticks", type=int, default=120_000)  # 2,000/s for 60 s
    args = parser.parse_args()
    rng = random.Random(11)
    users = [uuid.UUID(int=(1 << 64) + i) for i in range(args.users)]
    tickers = [f"CRYPTO-COIN-C{i:03d}" for i in range(args.tickers)]
    built = time.perf_counter()
    orders = {o.id: o for o in make_orders(args.orders, users, tickers, rng)}
    index = RestingIndex()
    for o in orders.values():
        index.add(o.id, o.ticker_id, index_keys(o))
    print(f"indexed {len(index)} orders in {time.perf_counter() - built:.2f} s")
    account = Account(
        cash_krw=Decimal(10**11),
        available_cash_krw=Decimal(10**11),
        position=Position(Decimal(10**6), START),
    )
    prices = dict.fromkeys(tickers, START)
    session = Session(is_open=True)
    per_tick: list[float] = []
    filled = 0
    cpu = time.process_time()
    for n in range(args.ticks):
        ticker = tickers[n % len(tickers)]
        # A random walk with a slow drift, so over the run the paths reach about 10 % of the orders.
        step = Decimal(rng.choice((-1, 1))) * UPBIT_KRW_2025.tick_at(prices[ticker])
        last = max(
            UPBIT_KRW_2025.tick_at(prices[ticker]), prices[ticker] + step * rng.randint(0, 3)
        )
        prices[ticker] = last
        at = T0 + timedelta(microseconds=500 * n)
        quote = QuoteView(
            price=last, bid=last - 5, ask=last + 5, source="bench", ts=at, received_at=at
        )
        snapshot = MarketSnapshot(now=at, session=session, quote=quote)
        started = time.perf_counter()
        for order_id in wake(index, orders, ticker, quote, trails=True, table=UPBIT_KRW_2025):
            decision = decide(orders[order_id], snapshot, account, costs=KR_BROKER_2026)
            if decision.order.is_open:
                orders[order_id] = decision.order
                index.modify(order_id, ticker, index_keys(decision.order))
            else:
                filled += 1
                del orders[order_id]
                index.remove(order_id)
        per_tick.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu
    per_tick.sort()
    print(f"ticks {args.ticks}, orders filled {filled} ({100 * filled / args.orders:.1f} %)")
    print(
        f"per tick: p50 {percentile(per_tick, 0.50) * 1e6:.0f} µs, p99 {percentile(per_tick, 0.99) * 1e6:.0f} µs,"
        f" max {per_tick[-1] * 1e3:.1f} ms; CPU {cpu / args.ticks * 1e6:.0f} µs/tick"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
