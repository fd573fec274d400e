"""Faults on the broker path, injected into real processes under load: the database read-only or
stopped under an edge-mode daemon, a daemon killed again and again right after it starts
consuming, a database outage longer than RabbitMQ's consumer timeout, RabbitMQ restarted and
stalled. In each, every order the edge answered 202 ends FILLED or FAILED exactly once, none
stays PENDING, nothing is dead-lettered, the books balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest
import structlog

from daemon import amqp_topology
from daemon.clock import LiveClock
from tests.daemon_process import DaemonProcess
from tests.edge.conftest import (
    AMQP_URL,
    Keys,
    Load,
    assert_every_accepted_order_ended_once,
    buy,
    depth,
    new_user,
    private_database,
    rabbitmqctl,
    running_daemon,
    running_edge,
)
from tests.fakes.waiting import eventually
from tests.faults import PrivatePostgres, PrivateRabbit

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def edge_daemon(data_dir: Path, database_url: str, queue: str, amqp_url: str = AMQP_URL):  # type: ignore[no-untyped-def]
    return DaemonProcess(
        data_dir, database_url, PAPERTRADE_AMQP_URL=amqp_url, PAPERTRADE_AMQP_QUEUE=queue,
        PAPERTRADE_FEEDS="sim",
    )  # fmt: skip


def spawn(daemon: DaemonProcess) -> subprocess.Popen[bytes]:
    """`papertrade run` with the daemon's settings, not waiting for it to serve."""
    with daemon.log.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "run"], env=daemon.env, stdout=log, stderr=log
        )


def events(daemon: DaemonProcess) -> list[dict]:
    """The daemon's JSON log lines (others, such as a traceback's, are skipped)."""
    found = []
    for line in daemon.log.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


async def until_metric(daemon: DaemonProcess, line: str, seconds: float = 30) -> None:
    """Until the daemon's /metrics has this line."""
    async with httpx.AsyncClient(base_url=daemon.url, timeout=5) as client:
        with anyio.fail_after(seconds):
            while line not in (await client.get("/metrics")).text.splitlines():  # noqa: ASYNC110
                await anyio.sleep(0.2)


def named(daemon: DaemonProcess, event: str) -> list[dict]:
    return [e for e in events(daemon) if e.get("event") == event]


@pytest.mark.parametrize("fault", ["read_only", "stopped"])
async def test_the_database_refusing_writes_pauses_the_intake_and_loses_nothing(
    fault: str, queue: str, tmp_path: Path
) -> None:
    """Issue 16 item 1: while PostgreSQL is read-only (or down) the edge keeps answering 202,
    the daemon holds its messages and retries, and when the database is back every order
    settles once; before the fix 1,607 of 3,500 went to the dead-letter queue unrecorded."""
    clock = LiveClock()
    keys = Keys(tmp_path, clock)  # the daemon finds this key pair in its data folder
    with PrivatePostgres() as postgres:
        async with private_database(postgres) as (url, pool):
            users = [await new_user(pool) for _ in range(4)]
            daemon = edge_daemon(tmp_path, url, queue)
            await anyio.to_thread.run_sync(daemon.start)
            try:
                async with running_edge(queue, keys, clock) as edge:
                    load = Load(edge, keys, users)
                    await load.post(60)
                    if fault == "read_only":
                        await postgres.set_read_only(True)
                    else:
                        await anyio.to_thread.run_sync(postgres.stop)
                    await load.post(120, lanes=4, pause=0.05)
                    await until_metric(daemon, "papertrade_intake_paused 1.0")
                    if fault == "read_only":
                        await postgres.set_read_only(False)
                    else:
                        await anyio.to_thread.run_sync(postgres.start)
                    await load.post(40)
                    await until_metric(daemon, "papertrade_intake_paused 0.0")
                    assert load.answers == [202] * 220
                    await assert_every_accepted_order_ended_once(pool, load, queue)
            finally:
                daemon.stop()
    assert named(daemon, "intake_paused_database_unavailable")
    assert named(daemon, "intake_resumed")
    assert not named(daemon, "intake_message_dead_lettered")


async def until_consuming_and_delivered(daemon: DaemonProcess, queue: str, sent: int) -> None:
    """Until a new `intake_consuming` line is in the daemon's log (read from where it ended, so
    the wait costs the starting daemon no CPU) and RabbitMQ has delivered some of the `sent`
    messages to it (fewer are ready: they are prefetched, unacknowledged)."""
    start = daemon.log.stat().st_size if daemon.log.exists() else 0
    with anyio.fail_after(60):
        while b'"intake_consuming"' not in daemon.log.read_bytes()[start:]:  # noqa: ASYNC110
            await anyio.sleep(0.002)
        while await depth(queue) == sent:  # noqa: ASYNC110
            await anyio.sleep(0.002)


@pytest.mark.timeout(400)  # eight daemon starts, each 15-25 s on the loaded 2-core machine
async def test_a_daemon_killed_right_after_it_starts_consuming_drops_nothing(
    database_url: str, pool: asyncpg.Pool, queue: str, tmp_path: Path
) -> None:
    """Issue 16 item 2: seven kill -9s right after the daemon starts consuming, each once
    RabbitMQ has delivered it a prefetch, return those messages seven times; no delivery count
    may dead-letter an unrecorded order (the old x-delivery-limit of 5 did)."""
    clock = LiveClock()
    keys = Keys(tmp_path, clock)
    users = [await new_user(pool) for _ in range(4)]
    daemon = edge_daemon(tmp_path, database_url, queue)
    async with running_edge(queue, keys, clock) as edge:
        load = Load(edge, keys, users)
        await load.post(300, lanes=16)  # the home is off: all of them wait in the queue
        for _ in range(7):
            process = spawn(daemon)
            try:
                await until_consuming_and_delivered(daemon, queue, 300)
            finally:
                process.kill()
                process.wait(10)
        await anyio.to_thread.run_sync(daemon.start)
        try:
            await assert_every_accepted_order_ended_once(pool, load, queue)
        finally:
            daemon.stop()
    assert len(load.accepted) == 300
    assert not named(daemon, "intake_message_dead_lettered")


async def test_a_broker_restart_loses_nothing_and_is_logged_once(
    pool: asyncpg.Pool, database_url: str, queue: str, tmp_path: Path
) -> None:
    """RabbitMQ stopped under load and started again: 202'd orders settle once, orders refused
    while it was down say "not accepted" (nothing was sent), and the outage is one log line per
    connection when it starts and one when it ends (issue 16 item 8: not a line a second)."""
    clock = LiveClock()
    keys = Keys(tmp_path, clock)
    users = [await new_user(pool) for _ in range(4)]
    with PrivateRabbit() as rabbit:
        daemon = edge_daemon(tmp_path, database_url, queue, rabbit.url)
        await anyio.to_thread.run_sync(daemon.start)
        try:
            async with running_edge(queue, keys, clock, amqp_url=rabbit.url) as edge:
                load = Load(edge, keys, users)
                await load.post(80)
                await anyio.to_thread.run_sync(rabbit.stop)
                await eventually(lambda: not edge.publisher.connected, seconds=10)
                refused = await edge.post(buy(), keys.headers(users[0]))
                assert refused.status_code == 503
                assert "not accepted" in refused.json()["detail"]
                assert (await edge.client.get("/readyz")).status_code == 503
                await anyio.sleep(4)  # down long enough for a few reconnection attempts
                await anyio.to_thread.run_sync(rabbit.start)
                await eventually(lambda: edge.publisher.confirming, seconds=30)
                await load.post(80)
                assert load.answers.count(202) == 160
                await assert_every_accepted_order_ended_once(pool, load, queue, amqp_url=rabbit.url)
        finally:
            daemon.stop()
    # Per connection (the intake's, the API's publisher's): one line as an outage starts and one
    # as it ends, not a line per attempt. (A busy broker may refuse the first declaration with
    # INTERNAL_ERROR, closing that connection: an outage of its own, ended by the next one.)
    outages = [(e["connection"], e["event"]) for e in events(daemon)
               if e.get("event") in ("amqp_connection_lost", "amqp_connection_restored")]  # fmt: skip
    assert ("papertrade-daemon-intake", "amqp_connection_lost") in outages
    for name in {name for name, _ in outages}:
        lines = [event for n, event in outages if n == name]
        assert lines == ["amqp_connection_lost", "amqp_connection_restored"] * (len(lines) // 2)
    noisy = [e for e in events(daemon) if str(e.get("logger")).startswith(("aio_pika", "aiormq"))
             and e.get("level") in ("warning", "error")]  # fmt: skip
    assert noisy == [], [e["event"][-400:] for e in noisy]


async def test_a_connection_replaced_after_the_broker_closed_it_ends_the_outage() -> None:
    """Issue 16 item 8: an outage is one line as it starts and one as it ends, also when the
    owner replaces the connection the broker closed (an actor restarted by its supervisor after a
    declaration got INTERNAL_ERROR) instead of the connection reconnecting itself."""
    with PrivateRabbit() as rabbit, structlog.testing.capture_logs() as logs:
        first = await amqp_topology.connect(rabbit.url, "pt-test-replaced", 30)
        await anyio.to_thread.run_sync(
            rabbitmqctl, rabbit, "close_all_connections", "a test closes it"
        )
        await eventually(lambda: any(e["event"] == "amqp_connection_lost" for e in logs), 20)
        await amqp_topology.close(first)  # as the actor's restart does
        second = await amqp_topology.connect(rabbit.url, "pt-test-replaced", 30)
        await amqp_topology.close(second)
    outage = [e["event"] for e in logs if e["event"].startswith("amqp_connection_")]
    assert outage == ["amqp_connection_lost", "amqp_connection_restored"]


async def test_a_blocked_broker_makes_edge_and_daemon_unready_and_the_503s_say_unknown(
    database_url: str, pool: asyncpg.Pool, queue: str, tmp_path: Path
) -> None:
    """Issue 16 item 3 and issue 9 item 7: RabbitMQ under a disk alarm blocks publishers and
    confirms nothing. The edge's and the daemon's /readyz say so, an order sent meanwhile is
    "unknown — retry with the same client_order_id" (it may yet be queued), and the retry after
    the alarm is one order."""
    clock = LiveClock()
    keys = Keys(tmp_path, clock)
    alice = await new_user(pool)
    headers = keys.headers(alice)
    with PrivateRabbit() as rabbit:
        async with (
            running_daemon(database_url, queue, clock, tmp_path, http=True,
                           amqp_url=rabbit.url) as platform,
            running_edge(queue, keys, clock, amqp_url=rabbit.url) as edge,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.http.port}") as home,  # type: ignore[union-attr]
        ):  # fmt: skip
            assert (await edge.post(buy(client_order_id="a"), headers)).status_code == 202
            await eventually(lambda: platform.order_publisher.confirming, seconds=20)
            assert (await home.get("/readyz")).json()["broker"] is True
            await anyio.to_thread.run_sync(rabbitmqctl, rabbit, "set_disk_free_limit", "1000GB")
            await eventually(lambda: not edge.publisher.confirming, seconds=20)
            readiness = await edge.client.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json() == {"ready": False, "broker": True, "confirms": False}
            await eventually(lambda: not platform.order_publisher.confirming, seconds=20)
            home_readiness = await home.get("/readyz")
            assert home_readiness.status_code == 503
            assert home_readiness.json()["broker"] is False
            stalled = await edge.post(buy(client_order_id="b"), headers)
            assert stalled.status_code == 503
            detail = stalled.json()["detail"]
            assert "unknown" in detail
            assert "same client_order_id" in detail
            assert "not accepted" not in detail

            await anyio.to_thread.run_sync(rabbitmqctl, rabbit, "set_disk_free_limit", "1MB")
            await eventually(lambda: edge.publisher.confirming, seconds=20)
            assert (await edge.client.get("/readyz")).status_code == 200
            retried = await edge.post(buy(client_order_id="b"), headers)
            assert retried.status_code == 202


def consumer_timed_out(rabbit: PrivateRabbit) -> bool:
    """Whether the node has closed a channel for a delivery left unacknowledged too long."""
    logs = (rabbit.root / "log").glob("*.log")
    return any("delivery acknowledgement on channel" in p.read_text(errors="replace") for p in logs)


@pytest.mark.timeout(300)
async def test_a_pause_past_the_consumer_timeout_loses_nothing(queue: str, tmp_path: Path) -> None:
    """Issue 16 item 1, for a database outage longer than RabbitMQ's consumer_timeout (15 min in
    ops/rabbitmq/rabbitmq.conf, 3 s here): the broker closes the channel whose deliveries the
    paused intake holds; the daemon reopens it, the messages come again, and once the database
    takes writes every order the edge answered 202 settles once and the queue is empty."""
    clock = LiveClock()
    keys = Keys(tmp_path, clock)
    with PrivatePostgres() as postgres, PrivateRabbit(consumer_timeout_ms=3000) as rabbit:
        async with private_database(postgres) as (url, pool):
            users = [await new_user(pool) for _ in range(4)]
            daemon = edge_daemon(tmp_path, url, queue, rabbit.url)
            await anyio.to_thread.run_sync(daemon.start)
            try:
                async with running_edge(queue, keys, clock, amqp_url=rabbit.url) as edge:
                    load = Load(edge, keys, users)
                    await load.post(40)
                    await postgres.set_read_only(True)
                    await load.post(80, lanes=4)
                    await until_metric(daemon, "papertrade_intake_paused 1.0")
                    await eventually(lambda: consumer_timed_out(rabbit), seconds=60)
                    await load.post(40, lanes=4)  # taken while the intake waits on a new channel
                    await postgres.set_read_only(False)
                    await until_metric(daemon, "papertrade_intake_paused 0.0")
                    assert load.answers == [202] * 160
                    await assert_every_accepted_order_ended_once(
                        pool, load, queue, amqp_url=rabbit.url
                    )
            finally:
                daemon.stop()
    assert not named(daemon, "intake_message_dead_lettered")
    assert not named(daemon, "actor_crashed")
