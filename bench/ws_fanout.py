"""Websocket fan-out: K clients on WS /ws of a real `papertrade run`, each subscribed to every
ticker; prints whether every client got every tick and the tick-to-client delay.

The tick source is the daemon's own `sim` feed (every instrument and USD/KRW once a second, in
one burst); `--upbit-rate R` adds a steady stream of R trades a second from a fake Upbit on
loopback (tests/fakes). A message's delay is the client's receive time minus the message's own
`ts` (for `sim` the instant the tick was made, for Upbit the trade's time). Only messages whose
`ts` lies in the measured window count, so every client should see the same (ticker, ts) pairs.

Clients run in several OS processes, each an asyncio loop of raw sockets that walks the frame
headers and scans the texts with one regex per chunk, never decoding JSON (the `websockets`
client would cost more CPU than the server it measures). During the window a client only notes
each chunk's arrival time and keeps its texts; the scan runs once the window is over, so 500
sockets of one process served in turn do not lag behind their own scanning (on two cores that
lag was most of the measured delay). `--deflate` offers permessage-deflate
as browsers do; the first line says what the daemon agreed to.

    .venv/bin/python -m bench.ws_fanout [--clients 1000] [--seconds 20] [--procs 2] [--deflate]
        [--upbit-rate 0] [--py-spy /tmp/ws.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from array import array
from collections import Counter
from datetime import datetime
from multiprocessing.connection import Connection
from operator import itemgetter
from pathlib import Path

import httpx
import psutil

from bench.common import percentile, scratch_database
from tests.daemon_process import DaemonProcess
from tests.fakes.fake_upbit import FakeUpbit

HOST = "127.0.0.1"
SUBSCRIBE_ALL = b'{"op":"subscribe","tickers":["*"]}'
HANDSHAKE_CONCURRENCY = 50
SETTLE_SECONDS = 2.0  # after the last client subscribed, before the window opens
TAIL_SECONDS = 3.0  # after the window closes: what in-window ticks are still on their way
MAX_TAIL_SECONDS = 30.0  # how long the main process waits for a client process's results
_DEFLATE_TAIL = b"\x00\x00\xff\xff"


# One quote or FX message: its ticker (or pair) and its ts, skipping the fields in between one
# at a time. Run over a whole chunk of frames at once: the frame headers between the JSON texts
# cannot be part of a match.
_TICK = re.compile(
    rb'\{"type":"(?:quote","ticker_id|fx","pair)":"([^"]*)",'
    rb'(?:"[a-z_]+":(?:"[^"]*"|[^,"]*),)*?"ts":"([^"]*)"'
)
_SUBSCRIBED = b'{"type":"subscribed"'


class _Shared:
    """One worker process's tallies, shared by its clients (one event loop, no locks)."""

    def __init__(self) -> None:
        self.ts_seconds: dict[bytes, float] = {}  # every client sees the same few ts strings
        self.window = (float("inf"), float("inf"))
        self.keys: set[tuple[bytes, bytes]] = set()  # (ticker or FX pair, ts), any ts
        self.delays = array("d")
        self.holding = False  # during the window: keep texts with their arrival, scan later
        self.rounds: dict[bytes, list[float]] = {}  # ts -> [first, last] delivery delay

    def seconds(self, ts: bytes) -> float:
        found = self.ts_seconds.get(ts)
        if found is None:
            found = self.ts_seconds[ts] = datetime.fromisoformat(ts.decode()).timestamp()
        return found

    def in_window(self, ts: bytes) -> bool:
        start, end = self.window
        return start <= self.seconds(ts) < end

    def tally(self, found: list[tuple[bytes, bytes]], now: float) -> int:
        """Record quotes and rates received at `now`; returns how many are in the window."""
        self.keys.update(found)
        counted = 0
        for ts, count in Counter(map(itemgetter(1), found)).items():
            if not self.in_window(ts):
                continue
            delay = now - self.ts_seconds[ts]
            counted += count
            self.delays.extend([delay] * count)
            span = self.rounds.get(ts)
            if span is None:
                self.rounds[ts] = [delay, delay]
            else:
                span[0], span[1] = min(span[0], delay), max(span[1], delay)
        return counted


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
    """A websocket client that counts frames and scans them, never decoding JSON."""

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
        self.count = 0  # quote and FX messages whose ts is in the window
        self.frames = 0  # every message received after the upgrade
        self.held: list[tuple[float, bytes]] = []  # (arrival, texts) to scan after the window

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
        if not self._upgraded and not self._upgrade(buffer):
            return
        # Walk the frame headers only; the texts of complete plain frames are scanned together.
        pos, size, frames, special = 0, len(buffer), 0, []
        while size - pos >= 2:
            first, length = buffer[pos], buffer[pos + 1]  # server frames are never masked
            head = 2
            if length >= 126:
                head = 4 if length == 126 else 10
                if size - pos < head:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + head], "big")
            if size - pos < head + length:
                break
            if first != 0x81:  # not a whole uncompressed text message
                special.append((first, bytes(buffer[pos + head : pos + head + length])))
            pos += head + length
            frames += 1
        if not pos:
            return
        self.frames += frames
        if self._shared.holding:
            self.held.append((now, bytes(buffer[:pos])))
            found = []
        else:
            found = _TICK.findall(buffer, 0, pos)
        if not self.subscribed.done() and buffer.find(_SUBSCRIBED, 0, pos) >= 0:
            self.subscribed.set_result(None)
        del buffer[:pos]
        for first, payload in special:
            found += self._special(first, payload)
        if found:
            self.count += self._shared.tally(found, now)

    def scan_held(self) -> None:
        """Scan the texts kept during the window, each chunk at the time it arrived."""
        for now, chunk in self.held:
            found = _TICK.findall(chunk)
            if found:
                self.count += self._shared.tally(found, now)
        self.held.clear()

    def _upgrade(self, buffer: bytearray) -> bool:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        assert self.transport is not None
        head = bytes(buffer[:end]).lower()
        if not head.startswith(b"http/1.1 101"):
            self.subscribed.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
            self.transport.close()
            return False
        if b"permessage-deflate" in head:
            self._inflater = zlib.decompressobj(-15)
        del buffer[: end + 4]
        self._upgraded = True
        self.transport.write(_frame(0x1, SUBSCRIBE_ALL))
        return True

    def _special(self, first: int, payload: bytes) -> list[tuple[bytes, bytes]]:
        assert self.transport is not None
        opcode = first & 0x0F
        if opcode == 0x1 and first & 0x40:  # compressed (permessage-deflate, RSV1)
            assert self._inflater is not None
            text = self._inflater.decompress(payload + _DEFLATE_TAIL)
            if not self.subscribed.done() and text.startswith(_SUBSCRIBED):
                self.subscribed.set_result(None)
            return _TICK.findall(text)
        if opcode == 0x9:  # ping: answer, or uvicorn closes us after ws_ping_timeout
            self.transport.write(_frame(0xA, payload))
        elif opcode == 0x8:
            self.transport.close()
        elif opcode != 0xA:
            raise ValueError(f"unexpected frame {first:#x}: fragmented messages are not expected")
        return []


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

    window = await asyncio.to_thread(pipe.recv)
    if window == "bye":  # the main process gave up (another client process failed)
        for client in clients:
            client.transport.close()  # type: ignore[union-attr]
        return
    start, end = shared.window = window
    shared.holding = True
    await asyncio.sleep(max(0.0, start - time.time()))
    cpu_start, frames_start = time.process_time(), sum(c.frames for c in clients)
    await asyncio.sleep(max(0.0, end - time.time()))
    cpu_window = time.process_time() - cpu_start
    frames_window = sum(c.frames for c in clients) - frames_start
    await asyncio.sleep(max(0.0, end + TAIL_SECONDS - time.time()))
    shared.holding = False
    for client in clients:
        client.scan_held()
    pipe.send(
        (
            "done",
            {
                "counts": [c.count for c in clients],
                "closed": sum(c.closed for c in clients),
                "frames": frames_window,
                "keys": {key for key in shared.keys if shared.in_window(key[1])},
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
        spy = Path(sys.executable).parent / "py-spy"  # installed in the venv
        profiler = subprocess.Popen(
            [str(spy), "record", "--nonblocking", "-p", str(daemon.proc.pid),
             "-d", str(int(args.seconds)), "-f", "raw", "-o", args.py_spy],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    cpu_before = daemon_ps.cpu_times()
    psutil.cpu_percent(None)
    time.sleep(max(0.0, end - time.time()))
    cpu_after = daemon_ps.cpu_times()
    machine = psutil.cpu_percent(None)  # all cores together, 0-100
    daemon_cpu = (
        (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    ) / args.seconds

    results = [_receive(pipe, "done", MAX_TAIL_SECONDS + 60)[1] for pipe in pipes]
    after = _metrics(daemon.url)  # the clients are still connected: their drop counts still count
    if profiler is not None:
        _, err = profiler.communicate(timeout=args.seconds + 60)
        if profiler.returncode:
            print(f"py-spy failed: {err.decode()[-500:]}")

    _report(args, connected, errors, connect_seconds, results, before, after)
    cpus = os.cpu_count() or 1
    client_cpu = sum(r["cpu_seconds"] for r in results) / args.seconds
    others = machine / 100 * cpus - daemon_cpu - client_cpu
    print(f"  CPU during the window: daemon {daemon_cpu * 100:.0f}% of one core, client "
          f"processes {client_cpu * 100:.0f}%, anything else on the machine {others * 100:.0f}% "
          f"({cpus} cores)")  # fmt: skip


def _report(
    args: argparse.Namespace,
    connected: int,
    errors: list[str],
    connect_seconds: float,
    results: list[dict],
    before: str,
    after: str,
) -> None:
    counts = [n for r in results for n in r["counts"]]
    keys: set[tuple[bytes, bytes]] = set().union(*(r["keys"] for r in results))
    delays = array("d")
    for r in results:
        delays.frombytes(r["delays"])
    ticks = len(keys)
    complete = sum(1 for n in counts if n == ticks)
    missing = sum(max(0, ticks - n) for n in counts)
    extra = sum(max(0, n - ticks) for n in counts)
    rounds: dict[bytes, list[float]] = {}  # ts -> [first, last] delivery delay over all clients
    for r in results:
        for ts, (first, last) in r["rounds"].items():
            span = rounds.setdefault(ts, [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)
    instants = sorted(datetime.fromisoformat(ts.decode()).timestamp() for ts in rounds)
    period = statistics.median(b - a for a, b in itertools.pairwise(instants)) if rounds else 0

    def metric(name: str) -> float:
        return _metric(after, name) - _metric(before, name)

    deflate = "permessage-deflate" if any(r["deflate"] for r in results) else "no compression"
    if args.deflate:
        deflate = f"permessage-deflate offered, {deflate} agreed"
    feed = f"sim feed + fake Upbit {args.upbit_rate:g} trades/s" if args.upbit_rate else "sim feed"
    print(f"WS /ws fan-out: {args.clients} clients in {args.procs} processes, {deflate}, "
          f"{feed}, {args.seconds:g} s window (by tick ts)")  # fmt: skip
    print(f"  connected and subscribed: {connected}/{args.clients} in {connect_seconds:.1f} s"
          + (f"; errors: {errors}" if errors else ""))  # fmt: skip
    print(f"  ticks: {ticks / args.seconds:.1f}/s, quotes and USD/KRW ({ticks} distinct "
          f"(ticker, ts), {len(rounds)} distinct ts, median {period:.3f} s apart)")  # fmt: skip
    print(f"  delivered: {len(delays) / args.seconds:,.0f} ticks/s to clients (every client "
          f"every tick: {ticks * connected / args.seconds:,.0f}/s); all messages incl. candles: "
          f"{sum(r['frames'] for r in results) / args.seconds:,.0f}/s")  # fmt: skip
    print(f"  clients that got every tick: {complete}/{connected}; ticks missing: {missing}, "
          f"duplicated: {extra}; connections closed early: "
          f"{sum(r['closed'] for r in results)}")  # fmt: skip
    if delays:
        ms = sorted(d * 1000 for d in delays)
        print(f"  tick-to-client delay: p50 {percentile(ms, 0.5):.1f} ms, "
              f"p90 {percentile(ms, 0.9):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
              f"max {ms[-1]:.1f} ms")  # fmt: skip
        firsts = [first * 1000 for first, _ in rounds.values()]
        lasts = [last * 1000 for _, last in rounds.values()]
        print(f"  per distinct ts (median): first tick at a client after "
              f"{statistics.median(firsts):.1f} ms, every tick at every client after "
              f"{statistics.median(lasts):.1f} ms")  # fmt: skip
    slow = metric("papertrade_websocket_dropped")
    early = metric('papertrade_market_dropped{subscriber="websockets"}')
    print(f"  dropped for slow clients (papertrade_websocket_dropped): {slow:g}; "
          f"before the websocket hub (papertrade_market_dropped): {early:g}")  # fmt: skip


async def _trade(fake: FakeUpbit, rate: float, stop: asyncio.Event) -> None:
    """Trades on the fake Upbit at `rate` a second, its markets in turn, until `stop`."""
    loop = asyncio.get_running_loop()
    prices = {code: int(market.trade_price) for code, market in fake.markets.items()}
    codes = list(prices)
    due = loop.time()
    for n in itertools.count():
        if stop.is_set():
            return
        code = codes[n % len(codes)]
        prices[code] += random.choice((-1, 1)) * max(1, prices[code] // 10_000)
        await fake.trade(code, str(prices[code]))
        due += 1 / rate
        await asyncio.sleep(max(0.0, due - loop.time()))


async def run(args: argparse.Namespace) -> None:
    async with scratch_database() as url, contextlib.AsyncExitStack() as stack:
        data_dir = Path(tempfile.mkdtemp(prefix="ptbench-ws-"))
        stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        # Every client comes from 127.0.0.1: as the edge's address in two-host mode it is exempt
        # from the per-address connection cap (64), which would turn the 65th client away.
        env = {
            "PAPERTRADE_LOG_LEVEL": "warning",
            "PAPERTRADE_FEEDS": "sim",
            "PAPERTRADE_TRUSTED_PROXIES": "127.0.0.1",
        }
        fake = None
        if args.upbit_rate:
            fake = FakeUpbit({"KRW-BTC": "150000000", "KRW-ETH": "5000000", "KRW-XRP": "3000"})
            await fake.start()
            stack.push_async_callback(fake.close)
            env |= {
                "PAPERTRADE_FEEDS": "sim,upbit",
                "PAPERTRADE_UPBIT_API_URL": fake.api_url,
                "PAPERTRADE_UPBIT_WS_URL": fake.ws_url,
            }
        daemon = DaemonProcess(data_dir, url, **env)
        await asyncio.to_thread(daemon.start)
        stack.callback(daemon.stop)
        stop = asyncio.Event()
        trading = None
        if fake is not None:
            trading = asyncio.create_task(_trade(fake, args.upbit_rate, stop))
        try:
            await asyncio.sleep(3)  # the first sim round; the Upbit feeder's markets and stream
            await asyncio.to_thread(_measure, daemon, args)
        finally:
            stop.set()
            if trading is not None:
                await trading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument(
        "--upbit-rate",
        type=float,
        default=0,
        help="also feed a fake Upbit this many trades a second (BTC, ETH, XRP in turn)",
    )
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy the daemon during the window")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
