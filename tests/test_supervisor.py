"""The supervisor restarts a crashed actor alone, gives up past its budget, and lets a normal return end an actor."""

from __future__ import annotations

import itertools

import anyio
import pytest

from daemon.supervisor import Actor, RestartBudgetExceeded, RestartPolicy, supervise

pytestmark = pytest.mark.anyio
FAST = RestartPolicy(max_restarts=3, window=10, backoff_initial=0.001, backoff_max=0.002)


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
