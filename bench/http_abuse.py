"""The daemon's memory and health under the attacks of issue 9 (items 4, 5, 6), on loopback.

Starts a real `papertrade run`, then: 100 concurrent bad logins; four clients each trying to
send a 200 MB header; N half-sent request heads (slowloris) from 127.0.0.2-9. Prints the
daemon's RSS before and after each, what the attackers were answered, and whether /healthz
answered meanwhile, with its latency.

    .venv/bin/python -m bench.http_abuse [--slow 2000]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

import anyio
import httpx

from bench.common import scratch_database
from tests.daemon_process import DaemonProcess


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def health_ms(url: str) -> str:
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            status = (await client.get(f"{url}/healthz")).status_code
    except httpx.HTTPError as exc:
        return f"failed ({type(exc).__name__})"
    return f"{status} in {(time.perf_counter() - started) * 1000:.0f} ms"


async def first_line(stream) -> str:  # type: ignore[no-untyped-def]
    try:
        with anyio.fail_after(30):
            data = await stream.receive()
        return data.split(b"\r\n", 1)[0].decode()
    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError, TimeoutError):
        return "closed"


async def logins(url: str) -> collections.Counter:
    statuses: collections.Counter = collections.Counter()
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=50)
    ) as c:

        async def one(n: int) -> None:
            body = {"username": f"nobody_{n:03d}", "password": "password123"}
            statuses[(await c.post("/api/auth/login", json=body)).status_code] += 1

        async with anyio.create_task_group() as tg:
            for n in range(100):
                tg.start_soon(one, n)
    return statuses


async def huge_headers(port: int) -> collections.Counter:
    answers: collections.Counter = collections.Counter()

    async def one() -> None:
        stream = await anyio.connect_tcp("127.0.0.1", port)
        async with stream:
            await stream.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            chunk = b"a" * 1_048_576
            try:
                for _ in range(200):
                    await stream.send(chunk)
            except (anyio.BrokenResourceError, OSError):
                pass
            answers[await first_line(stream)] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one)
    return answers


async def slowloris(port: int, count: int, url: str) -> tuple[collections.Counter, str]:
    streams = []
    for n in range(count):
        try:
            stream = await anyio.connect_tcp("127.0.0.1", port, local_host=f"127.0.0.{2 + n % 8}")
            await stream.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            streams.append(stream)
        except OSError:
            break
    during = await health_ms(url)
    answers: collections.Counter = collections.Counter()
    async with anyio.create_task_group() as tg:

        async def read(stream) -> None:  # type: ignore[no-untyped-def]
            answers[await first_line(stream)] += 1
            await stream.aclose()

        for stream in streams:
            tg.start_soon(read, stream)
    return answers, during


async def run(slow: int) -> None:
    async with scratch_database() as url:
        daemon = DaemonProcess(Path(tempfile.mkdtemp(prefix="ptabuse-")), url,
                               PAPERTRADE_LOG_LEVEL="warning", PAPERTRADE_FEEDS="none")  # fmt: skip
        daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        try:
            print(f"idle: RSS {rss_mb(pid):.0f} MB, /healthz {await health_ms(daemon.url)}")
            async with anyio.create_task_group() as tg:
                result: dict = {}

                async def flood() -> None:
                    result["logins"] = await logins(daemon.url)

                tg.start_soon(flood)
                await anyio.sleep(0.5)
                result["health"] = await health_ms(daemon.url)
                result["rss"] = rss_mb(pid)
            print(f"100 concurrent bad logins: {dict(result['logins'])}; RSS during "
                  f"{result['rss']:.0f} MB, after {rss_mb(pid):.0f} MB; /healthz {result['health']}")  # fmt: skip
            answers = await huge_headers(daemon.port)
            print(f"4 x 200 MB header: {dict(answers)}; RSS after {rss_mb(pid):.0f} MB; "
                  f"/healthz {await health_ms(daemon.url)}")  # fmt: skip
            answers, during = await slowloris(daemon.port, slow, daemon.url)
            print(f"{slow} half-sent heads from 8 addresses: {dict(answers)}; /healthz during "
                  f"{during}; RSS after {rss_mb(pid):.0f} MB; /healthz {await health_ms(daemon.url)}")  # fmt: skip
        finally:
            daemon.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow", type=int, default=2000, help="slowloris connections")
    args = parser.parse_args()
    anyio.run(run, args.slow)


if __name__ == "__main__":
    main()
