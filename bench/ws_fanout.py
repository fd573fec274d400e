"""Websocket fan-out: K clients on WS /ws of a real `papertrade run`, each subscribed to every
ticker; prints whether every client got every tick and the tick-to-client delay.

The tick source is the daemon's own `sim` feed (every instrument and USD/KRW once a second).
The delay of a message is the client's receive time minus the message's own `ts` (for `sim`,
the instant the tick was made). Only messages whose `ts` lies in the measured window count,
so every client should see exactly the same set of (ticker, ts) pairs.

Clients run in several OS processes, each an asyncio loop of raw sockets with minimal frame
parsing (the `websockets` client costs more CPU than the server it measures). By default they
do not offer permessage-deflate; `--deflate` offers it as browsers do (the daemon accepts it,
so it compresses every frame for every client).

    .venv/bin/python -m bench.ws_fanout [--clients 1000] [--seconds 20] [--procs 2] [--deflate]
        [--py-spy /tmp/ws.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
import zlib
from array import array
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import msgspec
import psutil

from bench.common import REPO, percentile, scratch_database
from tests.daemon_process import DaemonProcess

HOST = "127.0.0.1"
SUBSCRIBE_ALL = b'{"op":"subscribe","tickers":["*"]}'
HANDSHAKE_CONCURRENCY = 50
SETTLE_SECONDS = 2.0  # after the last client subscribed, before the window opens
QUIET_SECONDS = 1.0  # after the window closes: stop once no in-window message came for this long
MAX_TAIL_SECONDS = 30.0  # ...or this long after the window closes, whatever happens
_DEFLATE_TAIL = b"\x00\x00\xff\xff"


class _Message(msgspec.Struct):
    """The few fields a client looks at; msgspec skips the rest without building them."""

    type: str
    ticker_id: str = ""
    pair: str = ""
    ts: str = ""


class _Shared:
    """One worker process's tallies, shared by its clients (one event loop, no locks)."""

    def __init__(self) -> None:
        self.decoder = msgspec.json.Decoder(_Message)
        self.ts_seconds: dict[str, float] = {}  # every client sees the same few ts strings
        self.window = (float("inf"), float("inf"))
        self.keys: set[tuple[str, str]] = set()  # (ticker or FX pair, ts) seen in the window
        self.delays = array("d")
        self.last_in_window = 0.0
        self.rounds: dict[str, list[float]] = {}  # ts -> [first, last] delivery delay

    def delivered(self, ts: str, delay: float) -> None:
        span = self.rounds.get(ts)
        if span is None:
            self.rounds[ts] = [delay, delay]
        elif delay < span[0]:
            span[0] = delay
        elif delay > span[1]:
            span[1] = delay

    def seconds(self, ts: str) -> float:
        found = self.ts_seconds.get(ts)
        if found is None:
            found = self.ts_seconds[ts] = datetime.fromisoformat(ts).timestamp()
        return found


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (clients must mask; the server never does)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x80 | opcode, 0x80 | length])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class _Client(asyncio.Protocol):
    def __init__(self, shared: _Shared, port: int, deflate: bool) -> None:
        self._shared = shared
        self._port = port
        self._offer_deflate = deflate
        self._inflater: zlib._Decompress | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self.transport: asyncio.Transport | None = None
        self.subscribed = asyncio.get_running_loop().create_future()
        self.closed = False
        self.count = 0  # messages whose ts is in the window
        self.other = 0  # anything else after subscribing (snapshot, candles, heartbeats)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        extension = (
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            if self._offer_deflate
            else ""
        )
        transport.write(
            f"GET /ws HTTP/1.1\r\nHost: {HOST}:{self._port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extension}\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"closed before subscribing: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self._buffer
        buffer += data
        if not self._upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            if not head.startswith(b"http/1.1 101"):
                self.subscribed.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
                assert self.transport is not None
                self.transport.close()
                return
            if b"permessage-deflate" in head:
                self._inflater = zlib.decompressobj(-15)
            del buffer[: end + 4]
            self._upgraded = True
            assert self.transport is not None
            self.transport.write(_frame(0x1, SUBSCRIBE_ALL))
        view = memoryview(buffer)
        pos, size = 0, len(buffer)
        try:
            while size - pos >= 2:
                first, length = buffer[pos], buffer[pos + 1] & 0x7F
                head = 2
                if length == 126:
                    if size - pos < 4:
                        break
                    length, head = int.from_bytes(view[pos + 2 : pos + 4], "big"), 4
                elif length == 127:
                    if size - pos < 10:
                        break
                    length, head = int.from_bytes(view[pos + 2 : pos + 10], "big"), 10
                if size - pos < head + length:
                    break
                payload = bytes(view[pos + head : pos + head + length])
                pos += head + length
                opcode = first & 0x0F
                if opcode == 0x1:
                    if first & 0x40:
                        assert self._inflater is not None
                        payload = self._inflater.decompress(payload + _DEFLATE_TAIL)
                    self._on_text(payload, now)
                elif opcode == 0x9:  # ping: answer, or uvicorn closes us after ws_ping_timeout
                    assert self.transport is not None
                    self.transport.write(_frame(0xA, payload))
                elif opcode == 0x8:
                    assert self.transport is not None
                    self.transport.close()
        finally:
            view.release()
        del buffer[:pos]

    def _on_text(self, payload: bytes, now: float) -> None:
        shared = self._shared
        message = shared.decoder.decode(payload)
        if message.ts and message.type in ("quote", "fx"):
            sent = shared.seconds(message.ts)
            start, end = shared.window
            if start <= sent < end:
                self.count += 1
                shared.delays.append(now - sent)
                shared.delivered(message.ts, now - sent)
                shared.keys.add((message.ticker_id or message.pair, message.ts))
                shared.last_in_window = now
                return
        if message.type == "subscribed" and not self.subscribed.done():
            self.subscribed.set_result(None)
        else:
            self.other += 1


async def _connect(shared: _Shared, port: int, deflate: bool, gate: asyncio.Semaphore) -> _Client:
    loop = asyncio.get_running_loop()
    async with gate:
        _, client = await loop.create_connection(lambda: _Client(shared, port, deflate), HOST, port)
        async with asyncio.timeout(30):
            await client.subscribed
    return client


async def _worker(pipe: Connection, port: int, count: int, deflate: bool) -> None:
    shared = _Shared()
    gate = asyncio.Semaphore(HANDSHAKE_CONCURRENCY)
    results = await asyncio.gather(
        *(_connect(shared, port, deflate, gate) for _ in range(count)), return_exceptions=True
    )
    clients = [r for r in results if isinstance(r, _Client)]
    errors = sorted({repr(r) for r in results if isinstance(r, BaseException)})
    pipe.send(("connected", len(clients), errors[:3]))

    start, end = await asyncio.to_thread(pipe.recv)
    shared.window = (start, end)
    await asyncio.sleep(max(0.0, start - time.time()))
    cpu_start = time.process_time()
    await asyncio.sleep(max(0.0, end - time.time()))
    cpu_window = time.process_time() - cpu_start
    while time.time() < end + MAX_TAIL_SECONDS:
        now = time.time()
        if now > end + QUIET_SECONDS and now - shared.last_in_window > QUIET_SECONDS:
            break
        await asyncio.sleep(0.1)
    pipe.send(
        (
            "done",
            {
                "counts": [c.count for c in clients],
                "closed": sum(c.closed for c in clients),
                "other": sum(c.other for c in clients),
                "keys": shared.keys,
                "rounds": shared.rounds,
                "delays": shared.delays.tobytes(),
                "cpu_seconds": cpu_window,
                "deflate": any(c._inflater is not None for c in clients),
            },
        )
    )
    await asyncio.to_thread(pipe.recv)  # "bye": the main process has read the daemon's metrics
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    await asyncio.sleep(0.2)


def _worker_main(pipe: Connection, port: int, count: int, deflate: bool) -> None:
    import uvloop

    uvloop.run(_worker(pipe, port, count, deflate))


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(found[1]) if found else float("nan")


def _metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=10).text


def _measure(daemon: DaemonProcess, args: argparse.Namespace) -> None:
    assert daemon.proc is not None
    context = multiprocessing.get_context("spawn")
    base, extra = divmod(args.clients, args.procs)
    shares = [base + (i < extra) for i in range(args.procs)]
    pipes, workers = [], []
    for share in shares:
        ours, theirs = context.Pipe()
        worker = context.Process(
            target=_worker_main, args=(theirs, daemon.port, share, args.deflate), daemon=True
        )
        worker.start()
        pipes.append(ours)
        workers.append(worker)
    try:
        _run_window(daemon, args, pipes)
    finally:
        for pipe in pipes:
            with contextlib.suppress(OSError):
                pipe.send("bye")
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()


def _receive(pipe: Connection, kind: str, timeout: float) -> tuple:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client process sent no {kind!r} within {timeout} s")
    message = pipe.recv()
    assert message[0] == kind, message
    return message


def _run_window(daemon: DaemonProcess, args: argparse.Namespace, pipes: list[Connection]) -> None:
    assert daemon.proc is not None
    started = time.perf_counter()
    connected, errors = 0, []
    for pipe in pipes:
        _, count, problems = _receive(pipe, "connected", 300)
        connected += count
        errors += problems
    connect_seconds = time.perf_counter() - started
    if not connected:
        raise RuntimeError(f"no client connected: {errors}")
    before = _metrics(daemon.url)

    start = time.time() + SETTLE_SECONDS
    end = start + args.seconds
    for pipe in pipes:
        pipe.send((start, end))
    daemon_ps = psutil.Process(daemon.proc.pid)
    profiler = None
    time.sleep(max(0.0, start - time.time()))
    if args.py_spy:
        spy = REPO / ".venv" / "bin" / "py-spy"
        profiler = subprocess.Popen(
            [str(spy), "record", "-p", str(daemon.proc.pid), "-d", str(int(args.seconds)),
             "-f", "raw", "-o", args.py_spy],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    cpu_before = daemon_ps.cpu_times()
    psutil.cpu_percent(None)
    time.sleep(max(0.0, end - time.time()))
    cpu_after = daemon_ps.cpu_times()
    machine = psutil.cpu_percent(None)
    daemon_cpu = (
        (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    ) / args.seconds

    results = [_receive(pipe, "done", MAX_TAIL_SECONDS + 60)[1] for pipe in pipes]
    after = _metrics(daemon.url)  # the clients are still connected: their drop counts still count
    if profiler is not None:
        _, err = profiler.communicate(timeout=args.seconds + 60)
        if profiler.returncode:
            print(f"py-spy failed: {err.decode()[-500:]}")

    counts = [n for r in results for n in r["counts"]]
    keys: set[tuple[str, str]] = set().union(*(r["keys"] for r in results))
    delays = array("d")
    for r in results:
        delays.frombytes(r["delays"])
    ticks = len(keys)
    rounds = len({ts for _, ts in keys})
    complete = sum(1 for n in counts if n == ticks)
    missing = sum(max(0, ticks - n) for n in counts)
    client_cpu = sum(r["cpu_seconds"] for r in results) / args.seconds
    dropped = _metric(after, "papertrade_websocket_dropped") - _metric(
        before, "papertrade_websocket_dropped"
    )
    hub_dropped = _metric(after, 'papertrade_market_dropped{subscriber="websockets"}')
    deflate = "permessage-deflate" if any(r["deflate"] for r in results) else "no compression"

    print(f"WS /ws fan-out: {args.clients} clients in {args.procs} processes, {deflate}, "
          f"sim feed, {args.seconds:g} s window (by tick ts), {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  connected and subscribed: {connected}/{args.clients} in {connect_seconds:.1f} s"
          + (f"; errors: {errors}" if errors else ""))  # fmt: skip
    print(f"  tick rate: {ticks / args.seconds:.1f} messages/s ({ticks} distinct (ticker, ts) "
          f"in {rounds} feed rounds)")  # fmt: skip
    print(f"  delivered: {len(delays) / args.seconds:,.0f} messages/s to clients "
          f"(expected {ticks * connected / args.seconds:,.0f})")  # fmt: skip
    print(f"  clients that got every tick: {complete}/{connected}; messages missing: {missing}; "
          f"connections closed early: {sum(r['closed'] for r in results)}")  # fmt: skip
    if delays:
        ms = sorted(d * 1000 for d in delays)
        print(f"  tick-to-client delay: p50 {percentile(ms, 0.5):.1f} ms, "
              f"p90 {percentile(ms, 0.9):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
              f"max {ms[-1]:.1f} ms")  # fmt: skip
    rounds_seen: dict[str, list[float]] = {}
    for r in results:
        for ts, (first, last) in r["rounds"].items():
            span = rounds_seen.setdefault(ts, [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)
    if rounds_seen:
        firsts = [first * 1000 for first, _ in rounds_seen.values()]
        lasts = [last * 1000 for _, last in rounds_seen.values()]
        print(f"  per feed round (median over rounds): first message to a client after "
              f"{percentile(firsts, 0.5):.1f} ms, the round complete at every client after "
              f"{percentile(lasts, 0.5):.1f} ms")  # fmt: skip
    print(f"  dropped for slow clients (papertrade_websocket_dropped): {dropped:g}; "
          f"dropped before the websocket hub (market_dropped): {hub_dropped:g}")  # fmt: skip
    print(f"  CPU during the window: daemon {daemon_cpu * 100:.0f}% of one core, client "
          f"processes {client_cpu * 100:.0f}%, machine {machine:.0f}% of all cores")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    async with scratch_database() as url:
        data_dir = Path(tempfile.mkdtemp(prefix="ptbench-ws-"))
        env = {"PAPERTRADE_LOG_LEVEL": "warning", "PAPERTRADE_FEEDS": "sim"}
        daemon = DaemonProcess(data_dir, url, **env)
        daemon.start()
        try:
            await asyncio.sleep(2)  # the sim feed's first round
            await asyncio.to_thread(_measure, daemon, args)
        finally:
            daemon.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy the daemon during the window")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
