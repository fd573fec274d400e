"""The supervisor restarts a crashed actor alone, gives up past its budget, and lets a normal return end an actor.
An outside fault (the database away) is waited out without spending the budget; a bug spends it."""

from __future__ import annotations

import itertools

import anyio
import asyncpg
import pytest

from daemon.supervisor import Actor, OutsideFaults, RestartBudgetExceeded, RestartPolicy, supervise

pytestmark = pytest.mark.anyio
FAST = RestartPolicy(
    max_restarts=3, window=10, backoff_initial=0.001, backoff_max=0.002,
    fault_backoff_max=0.005, fault_cleared_after=0.2,
)  # fmt: skip


async def test_a_crash_restarts_only_that_actor() -> None:
    runs = {"flaky": 0, "steady": 0}
    steady_stop = anyio.Event()

    async def flaky() -> None:
        runs["flaky"] += 1
        if runs["flaky"] < 3:
            raise RuntimeError("boom")

    async def steady() -> None:
        runs["steady"] += 1
        await steady_stop.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(supervise, [Actor("flaky", flaky), Actor("steady", steady)], FAST)
        with anyio.fail_after(5):
            while runs["flaky"] < 3:  # noqa: ASYNC110 - watching a counter the actor bumps
                await anyio.sleep(0.01)
        steady_stop.set()
    assert runs == {"flaky": 3, "steady": 1}


async def test_past_the_budget_the_supervisor_gives_up() -> None:
    crashes = 0

    async def always_crashes() -> None:
        nonlocal crashes
        crashes += 1
        raise ValueError("broken invariant")

    async def forever() -> None:
        await anyio.sleep_forever()

    with anyio.fail_after(5), pytest.raises(BaseExceptionGroup) as caught:
        await supervise([Actor("bad", always_crashes), Actor("good", forever)], FAST)
    assert caught.group_contains(RestartBudgetExceeded)
    assert crashes == FAST.max_restarts + 1


async def test_backoff_grows_between_restarts() -> None:
    times: list[float] = []
    policy = RestartPolicy(max_restarts=5, window=10, backoff_initial=0.02, backoff_max=1)

    async def crash() -> None:
        times.append(anyio.current_time())
        if len(times) < 4:
            raise RuntimeError("again")

    with anyio.fail_after(5):
        await supervise([Actor("crash", crash)], policy)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.02
    assert gaps[1] >= 0.04
    assert gaps[2] >= 0.08


async def test_cancellation_is_not_a_crash() -> None:
    starts = 0

    async def sleeper() -> None:
        nonlocal starts
        starts += 1
        await anyio.sleep_forever()

    with anyio.move_on_after(0.1):
        await supervise([Actor("sleeper", sleeper)], FAST)
    assert starts == 1


@pytest.mark.parametrize(
    "fault",
    [
        asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        asyncpg.DiskFullError("could not extend file: No space left on device"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=["read_only", "disk_full", "refused"],
)
async def test_an_outside_fault_is_waited_out_without_spending_the_budget(fault: Exception) -> None:
    faults = OutsideFaults()
    attempts = 0
    seen_waiting: list[list[str]] = []
    healthy = anyio.Event()
    done = anyio.Event()

    async def needs_database() -> None:
        nonlocal attempts
        attempts += 1
        seen_waiting.append(faults.waiting)
        if attempts <= 5 * FAST.max_restarts:  # far past the budget meant for bugs
            raise fault
        healthy.set()
        await done.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(supervise, [Actor("settlement_0", needs_database)], FAST, faults)
        with anyio.fail_after(10):
            await healthy.wait()
            assert faults.waiting == ["settlement_0"]  # not ready until it has run a while
            while faults.waiting:  # noqa: ASYNC110 - the supervisor clears it on its own clock
                await anyio.sleep(0.01)
        done.set()
    assert seen_waiting[0] == []
    assert seen_waiting[-1] == ["settlement_0"]


async def test_a_bug_spends_the_budget_even_between_outside_faults() -> None:
    crashes = 0

    async def sometimes_the_database() -> None:
        nonlocal crashes
        crashes += 1
        if crashes % 2:
            raise ConnectionResetError(104, "Connection reset by peer")
        raise KeyError("a bug")

    with anyio.fail_after(5), pytest.raises(BaseExceptionGroup) as caught:
        await supervise([Actor("flaky", sometimes_the_database)], FAST)
    assert caught.group_contains(RestartBudgetExceeded)
    assert crashes == 2 * (FAST.max_restarts + 1)  # only the bugs counted
