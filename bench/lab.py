"""Figures from the two-host lab (ops/lab/papertrade_lab.py), as root:

    .venv/bin/python bench/lab.py                 # backlog of 120 s (the plan's "2 minutes")
    .venv/bin/python bench/lab.py --backlog 20    # the quick mode

1. orders/s accepted at the edge over HTTPS: `--people` people, each from an address of their
   own (Traefik limits 10 orders/s per address, burst 20), sending market orders back to back for
   `--seconds`; 202s and 429s counted. Then one person's orders one at a time, through Traefik
   and straight to the intake, to see where an order's time goes.
2. drain: the home server's tunnel goes down, the same people keep ordering for `--backlog`
   seconds at `--rate` orders/s in all, the tunnel comes back; how long until every accepted
   order is settled (home's database, polled), and the drain rate.
3. the tunnel's added latency for reads: GET /api/fx sequentially at home itself (loopback),
   from the edge through WireGuard, and from the internet through Traefik over HTTPS (and
   Traefik to nginx, the edge alone, for comparison).
Prints figures; asserts nothing about them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops" / "lab"))

import papertrade_lab
from papertrade_lab import HOME_PORT, HOME_TUNNEL, AsyncEdgeClient, EdgeClient, Lab

BTC = "CRYPTO-COIN-BTC"
QUANTITY = "0.0001"


async def patient_post(client: AsyncEdgeClient, path: str, body: dict[str, str]) -> httpx.Response:
    """POST, again after Retry-After while the daemon says 503 (it hashes passwords a few at a
    time)."""
    while (answer := await client.post(path, json=body)).status_code == 503:  # noqa: ASYNC110
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    answer.raise_for_status()
    return answer


async def sign_up(client: AsyncEdgeClient, hashing: asyncio.Semaphore) -> str:
    name = f"b{uuid.uuid4().hex[:10]}"
    body = {"username": name, "password": "password123", "nickname": name}
    async with hashing:
        await patient_post(client, "/api/auth/signup", body)
        login = await patient_post(client, "/api/auth/login", {"username": name, "password": "password123"})  # fmt: skip
    client.headers["authorization"] = f"Bearer {login.json()['access_token']}"
    return name


async def order_loop(client: AsyncEdgeClient, until: float, pause: float, accepted: list[str], codes: dict[int, int]) -> None:  # fmt: skip
    body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": QUANTITY}
    while time.monotonic() < until:
        answer = await client.post("/api/orders", json=body)
        codes[answer.status_code] = codes.get(answer.status_code, 0) + 1
        if answer.status_code == 202:
            accepted.append(answer.json()["id"])
        if pause:
            await asyncio.sleep(pause)


async def settled_count(dsn: str, ids: list[str]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'", ids
        )
    finally:
        await conn.close()


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms (n={len(ms)})"


async def accept_rate(lab: Lab, clients: list[AsyncEdgeClient], seconds: float) -> None:
    accepted: list[str] = []
    codes: dict[int, int] = {}
    started = time.monotonic()
    await asyncio.gather(*(order_loop(c, started + seconds, 0, accepted, codes) for c in clients))
    elapsed = time.monotonic() - started
    print(f"1. accepted at the edge over HTTPS: {len(accepted) / elapsed:,.0f} orders/s "
          f"({len(clients)} people, {elapsed:.1f} s; answers {dict(sorted(codes.items()))})")  # fmt: skip
    wait_until = time.monotonic() + 120
    while await settled_count(lab.home_database_dsn, accepted) < len(accepted):
        if time.monotonic() > wait_until:
            print("   (not all settled within 120 s)")
            break
        await asyncio.sleep(0.5)


async def drain(lab: Lab, clients: list[AsyncEdgeClient], backlog: float, rate: float) -> None:
    lab.tunnel_down(lab.home)
    accepted: list[str] = []
    codes: dict[int, int] = {}
    pause = len(clients) / rate
    started = time.monotonic()
    await asyncio.gather(
        *(order_loop(c, started + backlog, pause, accepted, codes) for c in clients)
    )
    print(f"2. home offline {time.monotonic() - started:.0f} s: {len(accepted)} orders accepted "
          f"and queued (answers {dict(sorted(codes.items()))})")  # fmt: skip
    back = time.monotonic()
    lab.tunnel_up(lab.home)
    first = None
    while (done := await settled_count(lab.home_database_dsn, accepted)) < len(accepted):
        if done and first is None:
            first = time.monotonic()
        if time.monotonic() - back > 300:
            print(f"   only {done} settled 300 s after the tunnel came back")
            return
        await asyncio.sleep(0.1)
    end = time.monotonic()
    first = first or end
    print(f"   tunnel back: first settled after {first - back:.1f} s (the daemon's reconnect), "
          f"all {len(accepted)} after {end - back:.1f} s; drain {len(accepted) / max(end - first, 1e-9):,.0f} orders/s")  # fmt: skip


def read_latency(lab: Lab, count: int) -> None:
    def timed(client: httpx.Client, url: str, **kw: object) -> list[float]:
        client.get(url, **kw)  # type: ignore[arg-type]  # connect first: keep-alive afterwards
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            client.get(url, **kw).raise_for_status()  # type: ignore[arg-type]
            samples.append(time.perf_counter() - started)
        return samples

    url = f"http://{HOME_TUNNEL}:{HOME_PORT}/api/fx"
    with lab.home.entered(), httpx.Client() as client:
        local = timed(client, url)
    with lab.edge.entered(), httpx.Client() as client:
        tunnel = timed(client, url)
    with lab.internet.entered(), EdgeClient(lab) as client:
        through = timed(client, "/api/fx")
        static = timed(client, "/healthz")
    print("3. GET /api/fx, one after another on a kept-alive connection:")
    print(f"   at home (loopback)            {percentiles(local)}")
    print(f"   edge -> home through the tunnel {percentiles(tunnel)}")
    print(f"   internet -> Traefik (HTTPS) -> tunnel -> home {percentiles(through)}")
    print(f"   internet -> Traefik (HTTPS) -> nginx /healthz {percentiles(static)}")
    added = statistics.median(tunnel) - statistics.median(local)
    print(f"   the tunnel adds {added * 1000:.2f} ms at the median")


async def one_order_latency(lab: Lab, client: AsyncEdgeClient, count: int) -> None:
    """Where an order's time goes: one person, one order at a time, through Traefik over HTTPS,
    and straight to the intake from the edge itself (plain HTTP on loopback). 0.15 s apart, under
    Traefik's 10 orders/s per address, whose limiter would otherwise delay them."""
    body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": QUANTITY}

    async def timed(send: httpx.AsyncClient, url: str) -> list[float]:
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            answer = await send.post(url, json=body)
            samples.append(time.perf_counter() - started)
            assert answer.status_code == 202, answer.text
            await asyncio.sleep(0.15)
        return samples

    through = await timed(client, "/api/orders")
    port = lab.edge_env["PAPERTRADE_HTTP_PORT"]
    with lab.edge.entered():  # sockets opened from here on are the edge's own
        async with httpx.AsyncClient(headers={"authorization": client.headers["authorization"]}) as direct:  # fmt: skip
            straight = await timed(direct, f"http://127.0.0.1:{port}/api/orders")
    print("   one person, one order at a time:")
    print(f"   through Traefik (HTTPS)      {percentiles(through)}")
    print(f"   straight to the edge intake {percentiles(straight)}")


async def loads(lab: Lab, args: argparse.Namespace) -> None:
    clients = [AsyncEdgeClient(lab, a) for a in papertrade_lab.CLIENT_ADDRESSES[: args.people]]
    try:
        hashing = asyncio.Semaphore(2)
        await asyncio.gather(*(sign_up(c, hashing) for c in clients))
        await accept_rate(lab, clients, args.seconds)
        await one_order_latency(lab, clients[0], 100)
        await drain(lab, clients, args.backlog, args.rate)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10, help="accept-rate run")
    parser.add_argument("--backlog", type=float, default=120, help="seconds of home offline")
    parser.add_argument("--rate", type=float, default=100, help="orders/s while home is offline")
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()
    with Lab() as lab:
        print(lab.describe())
        read_latency(lab, args.reads)
        with lab.internet.entered():
            asyncio.run(loads(lab, args))


if __name__ == "__main__":
    main()
