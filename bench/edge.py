"""Orders through the edge and RabbitMQ: POST at the edge to FILLED, and the backlog drain rate.

The edge runs as a real `papertrade edge` process on loopback; wrk (Debian package `wrk`) drives
it with many keep-alive clients, each order from one of many users. The daemon runs in this
process (its `sim` feed pricing BTC), its intake consuming the queue, so that its CPU time per
order can be measured as well: the machine's other load moves the rates, that figure less.

1. live: wrk for --seconds against the edge while the daemon runs. Prints the rate of 202s, and
   the rate and latency from each order's recording by the intake (created_at, the daemon's) to its fill,
   and the filled rate as a ratio of the pgbench reference measured next (PT_PERF_REFERENCE).
2. backlog: the daemon stopped, wrk queues orders for --seconds (the edge alone); then the daemon
   starts and the time until every queued order is FILLED gives the drain rate (target: 2,000/s).

    .venv/bin/python -m bench.edge [--clients 64] [--seconds 10] [--users 1000] [--prefetch 256]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aio_pika
import anyio
import httpx

from bench.common import (
    bulk_users,
    percentile,
    pgbench_reference,
    scratch_database,
    write_wrk_orders_script,
)
from daemon.amqp_topology import Topology
from daemon.clock import LiveClock
from daemon.config import load_settings
from daemon.logs import configure_logging
from daemon.platform import Platform, open_platform
from daemon.streams import batches
from daemon.tokens import PUBLIC_KEY_FILE, TokenMinter, load_or_create_private_key
from tests.daemon_process import free_port

AMQP_URL = os.environ.get("PAPERTRADE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
BTC = "CRYPTO-COIN-BTC"


class Edge:
    """`papertrade edge` as its own process."""

    def __init__(self, data_dir: Path, queue: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PAPERTRADE_AMQP_URL": AMQP_URL,
            "PAPERTRADE_AMQP_QUEUE": queue,
            "PAPERTRADE_JWT_PUBLIC_KEY": str(data_dir / PUBLIC_KEY_FILE),
            "PAPERTRADE_HTTP_PORT": str(self.port),
            "PAPERTRADE_DATA_DIR": str(data_dir / "edge"),  # its client_order_id record
            "PAPERTRADE_LOG_LEVEL": "warning",
        }
        log = (data_dir / "edge.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "daemon", "edge"], env=env,
                                     stdout=log, stderr=log)  # fmt: skip

    async def ready(self) -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            with anyio.fail_after(30):
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{self.url}/readyz")).status_code == 200:
                            return
                    await anyio.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wrk(url: str, script: Path, clients: int, seconds: int) -> tuple[float, int, str]:
    """(202s per second, 202 count, wrk's latency line for p99)."""
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    accepted = total - (int(failed[1]) if failed else 0)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return accepted / seconds, accepted, p99[1] if p99 else "?"


@asynccontextmanager
async def daemon(url: str, queue: str, prefetch: int, data_dir: Path) -> AsyncIterator[Platform]:
    """The daemon in this process, with the `sim` feed (its first prices come at once), and the
    key pair in `data_dir` that the bench's tokens are signed with (the intake verifies them)."""
    settings = load_settings({"PAPERTRADE_DATABASE_URL": url, "PAPERTRADE_FEEDS": "sim",
                              "PAPERTRADE_AMQP_URL": AMQP_URL, "PAPERTRADE_AMQP_QUEUE": queue,
                              "PAPERTRADE_DATA_DIR": str(data_dir)})  # fmt: skip
    async with open_platform(settings) as platform, anyio.create_task_group() as tg:
        platform.intake._prefetch = prefetch
        tg.start_soon(platform.serve)
        yield platform
        tg.cancel_scope.cancel()


async def fills(platform: Platform, count: int, latencies: list[float]) -> float:
    """Wait for `count` FILLED orders; the perf_counter time of the last."""
    async for events in batches(platform.events_out):
        for event in events:
            order = event.order
            if order.status == "FILLED":
                assert order.filled_at is not None
                latencies.append((order.filled_at - order.created_at).total_seconds())
                if len(latencies) == count:
                    return time.perf_counter()
    raise RuntimeError("event stream ended")


async def queue_depth(queue: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


async def drop_queues(queue: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in (queue, Topology(queue=queue).dead_letter_queue):
            await channel.queue_delete(name)


async def bench(clients: int, seconds: int, users: int, prefetch: int) -> None:
    queue = f"bench.edge.{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix="ptbench-edge-"))
    key = load_or_create_private_key(data_dir, None)
    minter = TokenMinter(key, LiveClock(), timedelta(hours=1))
    async with scratch_database() as url:
        tokens = [minter.mint(user_id, "USER") for user_id in await bulk_users(url, users)]
        script = data_dir / "orders.lua"
        write_wrk_orders_script(script, tokens)
        edge = Edge(data_dir, queue)
        try:
            await edge.ready()
            print(f"edge: `papertrade edge` process, wrk -t1 -c{clients}, {users} users; "
                  f"daemon in-process, prefetch {prefetch}")  # fmt: skip

            async with daemon(url, queue, prefetch, data_dir) as platform:
                await platform.intake.wait_consuming()
                latencies: list[float] = []
                started = time.perf_counter()
                rate, accepted, p99 = await anyio.to_thread.run_sync(
                    wrk, edge.url, script, clients, seconds
                )
                with anyio.fail_after(120):
                    last = await fills(platform, accepted, latencies)
            print(f"1. live, {seconds} s: {accepted} orders answered 202 at {rate:,.0f}/s "
                  f"(p99 of the 202: {p99})")  # fmt: skip
            filled = accepted / (last - started)
            print(f"   edge POST -> FILLED: {filled:,.0f} orders/s; "
                  f"latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                  f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms")  # fmt: skip
            reference = await anyio.to_thread.run_sync(pgbench_reference)
            if reference:
                print(f"   pgbench reference (1 order/transaction, 8 clients): {reference:,.0f} "
                      f"tps; ratio {filled / reference:.2f}x (target >= 0.5x)")  # fmt: skip

            rate, accepted, _ = await anyio.to_thread.run_sync(
                wrk, edge.url, script, clients, seconds
            )
            backlog = await queue_depth(queue)
            print(f"2. backlog: the daemon down, the edge queued {accepted} orders in {seconds} s "
                  f"({rate:,.0f}/s); {backlog} in the queue")  # fmt: skip
            latencies = []
            started = time.perf_counter()
            async with daemon(url, queue, prefetch, data_dir) as platform:
                await platform.intake.wait_consuming()
                consuming, cpu = time.perf_counter(), time.process_time()
                with anyio.fail_after(300):
                    last = await fills(platform, backlog, latencies)
                cpu = time.process_time() - cpu
            print(f"   drained in {last - started:.2f} s from the daemon's start "
                  f"({backlog / (last - started):,.0f} orders/s; consuming after "
                  f"{consuming - started:.2f} s: {backlog / (last - consuming):,.0f} orders/s)")  # fmt: skip
            print(f"   daemon CPU: {cpu / backlog * 1e6:.0f} us per order "
                  f"({backlog / cpu:,.0f} orders per CPU-second); machine load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        finally:
            edge.stop()
            await drop_queues(queue)
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--prefetch", type=int, default=256)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    configure_logging("warning")
    anyio.run(bench, args.clients, args.seconds, args.users, args.prefetch,
              backend_options={"use_uvloop": True})  # fmt: skip


if __name__ == "__main__":
    main()
