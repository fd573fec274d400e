"""The scenarios: each starts its rig, puts load on it, injects its fault, and measures."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import msgspec

from bench.chaos.load import Load, Outcome, outcome, settle_wait
from bench.chaos.rig import Rig


class Options(msgspec.Struct, frozen=True, kw_only=True):
    orders: int = 400  # per scenario with a fault under load
    rate: float = 100.0  # orders/s, all clients together
    outage: float = 20.0  # seconds PostgreSQL stays stopped or read-only
    backlog: float = 30.0  # seconds the home is offline while the edge takes orders
    kills: int = 6  # crash loop: kill -9 right after the intake starts consuming
    settle: float = 120.0  # at most this long for every 202'd order to settle
    keep_logs: Path | None = None  # copy each scenario's daemon and edge logs here


Fault = Callable[[], Awaitable[None]]


def blocking(call: Callable[[], object]) -> Fault:
    async def run() -> None:
        await anyio.to_thread.run_sync(call)

    return run


async def _settle(rig: Rig, load: Load, options: Options) -> tuple[float | None, str]:
    """Wait for every 202'd order to settle; meanwhile, a daemon that has exited is started
    again 5 s later, as systemd does (Restart=always, RestartSec=5 in ops/systemd)."""
    restarts = 0
    exits: list[int] = []

    async def like_systemd() -> None:
        nonlocal restarts
        while True:
            code = rig.daemon.proc.poll() if rig.daemon.proc is not None else None
            if code is not None:
                exits.append(code)
                await anyio.sleep(5)
                with contextlib.suppress(RuntimeError):  # it exited again: next round
                    await anyio.to_thread.run_sync(rig.daemon.start)
                restarts += 1
            await anyio.sleep(0.5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(like_systemd)
        done = await settle_wait(rig.database_url, load.accepted, options.settle)
        tg.cancel_scope.cancel()
    note = f"daemon exited {sorted(set(exits))}, restarted {restarts}x" if exits else ""
    return done, note


async def _start(rig: Rig) -> None:
    await anyio.to_thread.run_sync(rig.daemon.start)
    if rig.edge is not None:
        await anyio.to_thread.run_sync(rig.edge.start)
    await anyio.sleep(1)  # the sim feed's first BTC price


async def _under_load(
    name: str, rig: Rig, options: Options, inject: Fault, clear: Fault, hold: float
) -> Outcome:
    """Load at `options.rate`: three quarters of the orders, and a quarter of the way in
    `inject`, wait `hold` s, `clear`; then the last quarter, after the fault."""
    await _start(rig)
    load = Load(rig.target, rig.tokens, rig.user_ids)
    async with anyio.create_task_group() as tg:
        tg.start_soon(load.post, options.orders * 3 // 4, options.rate)
        while load.sent < options.orders // 4:  # noqa: ASYNC110
            await anyio.sleep(0.01)
        await inject()
        await anyio.sleep(hold)
        await clear()
        load.mark()
        cleared = time.perf_counter()
    await load.post(options.orders - options.orders * 3 // 4, options.rate)
    done, note = await _settle(rig, load, options)
    return await outcome(name, rig, load, None if done is None else done - cleared, note)


def _under_fault(edge: bool):  # type: ignore[no-untyped-def]
    """A maker of scenarios that inject a fault under load, in edge mode or single-host mode."""

    def make(name: str, inject: Callable[[Rig], Fault], clear: Callable[[Rig], Fault],
             hold: Callable[[Options], float] = lambda _: 2.0):  # type: ignore[no-untyped-def]  # fmt: skip
        async def scenario(options: Options) -> Outcome:
            async with Rig(name, edge, options.keep_logs) as rig:
                return await _under_load(name, rig, options, inject(rig), clear(rig), hold(options))

        return scenario

    return make


_edge = _under_fault(edge=True)
_single = _under_fault(edge=False)


def _read_only(on: bool) -> Callable[[Rig], Fault]:
    return lambda rig: lambda: rig.postgres.set_read_only(on)


def _consuming_count(rig: Rig) -> int:
    count = 0
    for line in rig.daemon.log.read_text().splitlines():
        try:
            count += json.loads(line).get("event") == "intake_consuming"
        except ValueError:
            continue
    return count


def _spawn(rig: Rig) -> subprocess.Popen[bytes]:
    with rig.daemon.log.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "daemon", "run"], env=rig.daemon.env,
                                stdout=log, stderr=log)  # fmt: skip


async def crash_loop(options: Options) -> Outcome:
    """A backlog in the queue; the daemon dies within milliseconds of consuming, `kills` times;
    then it starts for good."""
    async with Rig("crash_loop", True, options.keep_logs) as rig:
        assert rig.edge is not None
        await anyio.to_thread.run_sync(rig.edge.start)
        load = Load(rig.target, rig.tokens, rig.user_ids)
        await load.post(options.orders, options.rate * 4)
        for kills in range(1, options.kills + 1):
            process = _spawn(rig)
            with anyio.fail_after(60):
                while _consuming_count(rig) < kills:  # noqa: ASYNC110
                    await anyio.sleep(0.002)
            process.kill()
            process.wait(10)
        await anyio.to_thread.run_sync(rig.daemon.start)
        cleared = time.perf_counter()
        done, note = await _settle(rig, load, options)
        return await outcome("crash_loop", rig, load,
                             None if done is None else done - cleared,
                             f"{options.kills} kills right after intake_consuming {note}")  # fmt: skip


async def home_offline(options: Options) -> Outcome:
    """The home daemon is off for `backlog` s while the edge takes orders; then it starts and
    drains the backlog (settled_s is the drain time)."""
    async with Rig("home_offline", True, options.keep_logs) as rig:
        assert rig.edge is not None
        await anyio.to_thread.run_sync(rig.edge.start)
        load = Load(rig.target, rig.tokens, rig.user_ids)
        await load.post(int(options.rate * options.backlog), options.rate)
        await anyio.to_thread.run_sync(rig.daemon.start)
        cleared = time.perf_counter()
        done, note = await _settle(rig, load, options)
        settled = None if done is None else done - cleared
        rate = f"; drained {len(load.accepted) / settled:,.0f} orders/s" if settled else ""
        return await outcome("home_offline", rig, load, settled,
                             f"{options.backlog:g} s offline{rate} {note}")  # fmt: skip


SCENARIOS: dict[str, Callable[[Options], Awaitable[Outcome]]] = {
    "kill9_daemon": _edge("kill9_daemon", lambda r: blocking(r.daemon.kill),
                          lambda r: blocking(r.daemon.start)),
    "kill9_edge": _edge("kill9_edge", lambda r: blocking(r.edge.kill),  # type: ignore[union-attr]
                        lambda r: blocking(r.edge.start)),  # type: ignore[union-attr]
    "rabbit_restart": _edge("rabbit_restart", lambda r: blocking(r.rabbit.stop),  # type: ignore[union-attr]
                            lambda r: blocking(r.rabbit.start)),  # type: ignore[union-attr]
    "rabbit_kill": _edge("rabbit_kill", lambda r: blocking(lambda: r.rabbit.stop(kill=True)),  # type: ignore[union-attr]
                         lambda r: blocking(r.rabbit.start)),  # type: ignore[union-attr]
    "pg_stop_edge": _edge("pg_stop_edge", lambda r: blocking(r.postgres.stop),
                          lambda r: blocking(r.postgres.start), lambda o: o.outage),
    "pg_read_only_edge": _edge("pg_read_only_edge", _read_only(True), _read_only(False),
                               lambda o: o.outage),
    "crash_loop": crash_loop,
    "home_offline": home_offline,
    "pg_read_only_single": _single("pg_read_only_single", _read_only(True), _read_only(False),
                                   lambda o: o.outage),
    "pg_stop_single": _single("pg_stop_single", lambda r: blocking(r.postgres.stop),
                              lambda r: blocking(r.postgres.start), lambda o: o.outage),
    "sigterm_single": _single("sigterm_single", lambda r: blocking(r.daemon.stop),
                              lambda r: blocking(r.daemon.start), lambda _: 1.0),
}  # fmt: skip
