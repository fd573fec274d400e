"""POST /api/orders over real HTTP on loopback against a real `papertrade run` process.

wrk (Debian package `wrk`) drives N concurrent keep-alive clients, each order from one of
many users; prints accepted orders/s and latency percentiles, then waits until every
accepted order is settled and prints how long that took.

    .venv/bin/python -m bench.http_orders [--clients 64] [--seconds 10] [--users 500]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import anyio
import asyncpg

from bench.common import bulk_users, scratch_database, write_wrk_orders_script
from daemon.clock import LiveClock
from daemon.tokens import TokenMinter, load_or_create_private_key
from tests.daemon_process import DaemonProcess


async def run(clients: int, seconds: int, users: int, partitions: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    async with scratch_database() as url:
        user_ids = await bulk_users(url, users)
        data_dir = Path(tempfile.mkdtemp(prefix="ptbench-"))
        key = load_or_create_private_key(data_dir, None)
        minter = TokenMinter(key, LiveClock(), timedelta(hours=1))
        tokens = [minter.mint(user_id, "USER") for user_id in user_ids]
        daemon = DaemonProcess(
            data_dir, url, PAPERTRADE_LOG_LEVEL="warning", PAPERTRADE_PARTITIONS=str(partitions)
        )
        daemon.start()
        try:
            await asyncio.sleep(3)  # the sim feed's first prices
            script = data_dir / "orders.lua"
            write_wrk_orders_script(script, tokens)
            command = [
                "wrk",
                "-t1",
                f"-c{clients}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                daemon.url,
            ]
            out = (await anyio.run_process(command, check=True)).stdout.decode()
            settle_started = time.perf_counter()
            conn = await asyncpg.connect(url)
            while await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'PENDING'"):  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.1)
            drained = time.perf_counter() - settle_started
            counts = dict(await conn.fetch("SELECT status, count(*) FROM orders GROUP BY status"))
            await conn.close()
        finally:
            daemon.stop()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print(f"POST /api/orders, {clients} keep-alive clients for {seconds} s, {users} users, "
          f"{partitions} partitions (wrk -t1)")  # fmt: skip
    print(f"  accepted: {float(rate[1]):,.0f} orders/s" if rate else out)
    print(f"  non-202 answers: {non_2xx[1] if non_2xx else 0}")
    for label in ("50%", "90%", "99%"):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", out, re.M)
        print(f"  latency p{label[:-1]}: {found[1] if found else '?'}")
    print(
        f"  orders in the database: {counts}; last PENDING settled {drained:.2f} s after the load stopped"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.seconds, args.users, args.partitions))


if __name__ == "__main__":
    main()
