"""POST /api/orders over real HTTP on loopback against a real `papertrade run` process, every order
until FILLED, as a ratio of the pgbench one-order-per-transaction reference measured in the same run.

wrk (Debian package `wrk`) drives N concurrent keep-alive clients, each order from one of many
users. By default the users sign up and log in through the API, and the daemon runs at its
default settings (log level `info`); only the sign-up limit is raised so that one address may
sign up every user. `--bulk-users` inserts users straight into the database instead, with tokens
minted from the daemon's key. Prints accepted orders/s, latency percentiles, filled orders/s (the
first request to the last fill's commit) and that rate against the reference, then the CPU time
each filled order cost the daemon, its PostgreSQL backends and wrk, and what that CPU per order
allows at most on this machine's cores: the ceiling no amount of concurrency gets past.

    .venv/bin/python -m bench.http_orders [--clients 64] [--seconds 10] [--users 50]
        [--log-level warning] [--bulk-users] [--profile stacks.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import anyio
import asyncpg
import httpx

from bench.common import (
    DatabaseCpu,
    bulk_users,
    pgbench_reference,
    process_cpu,
    scratch_database,
    write_wrk_orders_script,
)
from daemon.clock import LiveClock
from daemon.tokens import TokenMinter, load_or_create_private_key
from tests.daemon_process import DaemonProcess

PASSWORD = "bench-password-1234"


async def signed_up_tokens(base_url: str, users: int) -> list[str]:
    """Sign `users` users up and log each in through the API, as a new user would."""
    tokens = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        for n in range(users):
            name = f"bench_{n:04d}"
            answer = await api.post(
                "/api/auth/signup",
                json={"username": name, "password": PASSWORD, "nickname": f"벤치{n:04d}"},
            )
            answer.raise_for_status()
            login = await api.post("/api/auth/login", json={"username": name, "password": PASSWORD})
            login.raise_for_status()
            tokens.append(login.json()["access_token"])
    return tokens


async def minted_tokens(url: str, data_dir: Path, users: int) -> list[str]:
    user_ids = await bulk_users(url, users)
    key = load_or_create_private_key(data_dir, None)
    minter = TokenMinter(key, LiveClock(), timedelta(hours=1))
    return [minter.mint(user_id, "USER") for user_id in user_ids]


async def wait_all_settled(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        while await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'PENDING'"):  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.05)
        return dict(await conn.fetch("SELECT status, count(*) FROM orders GROUP BY status"))
    finally:
        await conn.close()


async def last_fill(url: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        return (await conn.fetchval("SELECT max(filled_at) FROM orders")).timestamp()
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    async with scratch_database() as url:
        data_dir = Path(tempfile.mkdtemp(prefix="ptbench-"))
        env = {
            "PAPERTRADE_PARTITIONS": str(args.partitions),
            "PAPERTRADE_SIGNUP_RATE": "100000 per hour",
        }
        if args.log_level:
            env["PAPERTRADE_LOG_LEVEL"] = args.log_level
        if args.bulk_users:
            tokens = await minted_tokens(url, data_dir, args.users)
        daemon = DaemonProcess(data_dir, url, **env)
        daemon.start()
        profiler = None
        try:
            if not args.bulk_users:
                tokens = await signed_up_tokens(daemon.url, args.users)
            await asyncio.sleep(3)  # the sim feed's first prices
            script = data_dir / "orders.lua"
            write_wrk_orders_script(script, tokens)
            if args.profile:
                assert daemon.proc is not None
                profiler = await anyio.open_process(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "-p",
                     str(daemon.proc.pid), "-o", args.profile, "-f", "raw",
                     "-d", str(args.seconds), "-r", "200", "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            command = ["wrk", "-t1", f"-c{args.clients}", f"-d{args.seconds}s", "--latency",
                       "-s", str(script), daemon.url]  # fmt: skip
            assert daemon.proc is not None
            database_cpu = DatabaseCpu(url)
            await database_cpu.start()
            daemon_cpu_before = process_cpu(daemon.proc.pid) or 0.0
            wrk_cpu_before = _children_cpu()  # wrk is the only child waited for meanwhile
            started = time.time()
            out = (await anyio.run_process(command, check=True)).stdout.decode()
            wrk_cpu = _children_cpu() - wrk_cpu_before
            counts = await wait_all_settled(url)
            finished = await last_fill(url)
            daemon_cpu = (process_cpu(daemon.proc.pid) or 0.0) - daemon_cpu_before
            pg_cpu = await database_cpu.seconds()
            if profiler is not None:
                await profiler.wait()
        finally:
            daemon.stop()
    reference = pgbench_reference(args.pgbench_seconds)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    filled = counts.get("FILLED", 0)
    filled_rate = filled / (finished - started)
    mode = "bulk users, minted tokens" if args.bulk_users else "users signed up through the API"
    level = args.log_level or "info (default)"
    print(f"POST /api/orders, {args.clients} keep-alive clients for {args.seconds} s, "
          f"{args.users} {mode}, log level {level}, {args.partitions} partitions (wrk -t1)")  # fmt: skip
    print(f"  accepted: {float(rate[1]):,.0f} orders/s" if rate else out)
    print(f"  non-202 answers: {non_2xx[1] if non_2xx else 0}")
    for label in ("50%", "90%", "99%"):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", out, re.M)
        print(f"  accept latency p{label[:-1]}: {found[1] if found else '?'}")
    print(f"  orders: {counts}")
    print(f"  filled: {filled_rate:,.0f} orders/s (first request to the last fill's commit)")
    if reference:
        print(f"  pgbench reference (1 order/transaction, 8 clients): {reference:,.0f} tps")
        print(f"  ratio: {filled_rate / reference:.2f}x the reference "
              "(target >= 1.0x at info, >= 1.3x at warning)")  # fmt: skip
    if filled:
        costs = {"daemon": daemon_cpu, "PostgreSQL": pg_cpu, "wrk": wrk_cpu}
        each = ", ".join(f"{name} {cpu / filled * 1e6:.0f}" for name, cpu in costs.items())
        total = sum(costs.values()) / filled
        cores = os.cpu_count() or 1
        print(f"  CPU per filled order: {each} us; {total * 1e6:.0f} us in all")
        ceiling = f"  at that, {cores} cores settle at most {cores / total:,.0f} orders/s"
        if reference:
            ceiling += f" = {cores / total / reference:.2f}x the reference"
        # One Python thread serves every request: the daemon alone caps at one core's worth.
        print(f"{ceiling}; the daemon's one thread caps at {filled / daemon_cpu:,.0f} orders/s")
    if args.profile:
        print(f"  profile (py-spy, collapsed stacks in {args.profile}):")
        print_profile(Path(args.profile))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_profile(path: Path, top: int = 15) -> None:
    """The functions with the most samples on the stack (inclusive) and on top (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = [re.sub(r" \(.*/(site-packages|daemon)/", " (\\1/", f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"    top {top} {title}:")
        for frame, samples in counter.most_common(top):
            print(f"      {100 * samples / total:5.1f} %  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--log-level", default=None, help="PAPERTRADE_LOG_LEVEL (default: unset)")
    parser.add_argument("--bulk-users", action="store_true", help="insert users, mint tokens")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument(
        "--profile",
        help="py-spy collapsed stacks of the daemon during the load; prints the top frames",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
