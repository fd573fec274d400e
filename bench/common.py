"""Shared bench plumbing: a throwaway database, bulk users, percentiles. Benchmarks print, never assert."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import asyncpg

from daemon.migrate import migrate

ADMIN_URL = os.environ.get("PAPERTRADE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent
PERF_REFERENCE = Path(
    os.environ.get("PT_PERF_REFERENCE", REPO.parent / "shared" / "perf-reference")
)


@asynccontextmanager
async def scratch_database(prefix: str = "ptbench") -> AsyncIterator[str]:
    """A fresh migrated database, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def bulk_users(
    url: str, count: int, cash: Decimal = Decimal("10000000000")
) -> list[uuid.UUID]:
    """`count` users with wallets and opening deposits, inserted in bulk (no password hashing)."""
    ids = [uuid.uuid4() for _ in range(count)]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO users (id, username, nickname, password_hash)"
                " SELECT id, name, name, 'x'"  # nicknames are unique too
                " FROM (SELECT id, 'bench_' || left(replace(id::text, '-', ''), 24) AS name"
                " FROM unnest($1::uuid[]) AS id) AS named",
                ids,
            )
            await conn.execute(
                "INSERT INTO wallets (user_id, balance_krw) SELECT id, $2 FROM unnest($1::uuid[]) AS id",
                ids,
                cash,
            )
            await conn.execute(
                "INSERT INTO cash_ledger (user_id, kind, amount_krw)"
                " SELECT id, 'DEPOSIT', $2 FROM unnest($1::uuid[]) AS id",
                ids,
                cash,
            )
    finally:
        await conn.close()
    return ids


class DatabaseCpu:
    """CPU seconds spent by the PostgreSQL backends serving one database, read from /proc (the
    server on this host): `start()` when the measured part begins, `seconds()` when it ends,
    while the connections are still open. Other databases' backends (another benchmark, a test
    run) are not counted, unlike a whole-machine reading."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._start: dict[int, float] = {}

    async def _backends(self) -> dict[int, float]:
        conn = await asyncpg.connect(self._url)
        try:
            pids = await conn.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return {row["pid"]: cpu for row in pids if (cpu := process_cpu(row["pid"])) is not None}

    async def start(self) -> None:
        self._start = await self._backends()

    async def seconds(self) -> float:
        now = await self._backends()
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in now.items())


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) process `pid` has used so far; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def pgbench_reference(seconds: int = 10) -> float | None:
    """Transactions/s of the one-order-per-transaction reference (shared/perf-reference)."""
    script = PERF_REFERENCE / "pgbench-ref.sh"
    if not script.exists():
        print(f"pgbench reference not found at {script} (set PT_PERF_REFERENCE)")
        return None
    out = subprocess.run(
        ["bash", str(script), str(seconds)], capture_output=True, text=True, check=False
    ).stdout.strip()
    try:
        return float(out)
    except ValueError:
        print(f"pgbench reference printed {out!r}")
        return None


# wrk request script: POST a small market BUY of BTC, each request as the next of many users.
_WRK_ORDERS = """
tokens = {%s}
counter = 0
request = function()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  return wrk.format("POST", "/api/orders",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token},
    '{"ticker_id":"CRYPTO-COIN-BTC","side":"BUY","type":"MARKET","quantity":"0.0001"}')
end
"""


def write_wrk_orders_script(path: Path, tokens: list[str]) -> None:
    path.write_text(_WRK_ORDERS % ",".join(f'"{t}"' for t in tokens))
