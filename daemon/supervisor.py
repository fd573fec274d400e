"""supervise(): run actors one-for-one, restart a crashed one with backoff, within a restart budget.

Two kinds of crash are told apart. A bug spends the restart budget: past it (`max_restarts`
within `window` seconds, across all actors) the supervisor raises RestartBudgetExceeded, the
process exits non-zero and the service manager restarts it. An outside fault (the database
down, read-only or out of disk: `daemon.db_faults.database_unavailable`) spends nothing: the
actor is restarted with a backoff for as long as the fault lasts, and `OutsideFaults` says who
is waiting (readiness is false meanwhile), with a log line when the wait starts and one when
it ends. A restart would not fix the database; exiting would only lose the process.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import anyio
import msgspec
import structlog
from anyio.abc import TaskGroup

from daemon.db_faults import database_unavailable
from daemon.startup import StartupError

log = structlog.get_logger(__name__)


class RestartBudgetExceeded(RuntimeError):
    """Actors crashed more often than the budget allows: give up and let systemd restart us."""


class Actor(msgspec.Struct, frozen=True):
    """A named long-running coroutine. Returning normally ends it for good; raising restarts it."""

    name: str
    run: Callable[[], Awaitable[None]]


class RestartPolicy(msgspec.Struct, frozen=True, kw_only=True):
    max_restarts: int = 10
    window: float = 60.0  # seconds
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    # An actor that ran this long before crashing starts again from the initial backoff.
    healthy_after: float = 30.0
    # While an outside fault lasts: the longest wait between attempts, and how long an attempt
    # must run without failing for the fault to count as over.
    fault_backoff_max: float = 2.0
    fault_cleared_after: float = 2.0


class OutsideFaults:
    """The actors waiting for an outside fault to clear, and since when."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    @property
    def waiting(self) -> list[str]:
        return sorted(self._since)

    def failed(self, actor: str, exc: BaseException) -> None:
        self._failures[actor] = self._failures.get(actor, 0) + 1
        if actor not in self._since:
            self._since[actor] = time.monotonic()
            log.warning("outside_fault_started", actor=actor, error=repr(exc))

    async def clear_once_healthy(self, actor: str, after: float) -> None:
        """Call as the actor starts again: the fault is over if it runs `after` s unharmed."""
        failures = self._failures.get(actor, 0)
        await anyio.sleep(after)
        if actor in self._since and self._failures.get(actor, 0) == failures:
            waited = time.monotonic() - self._since.pop(actor)
            log.warning("outside_fault_cleared", actor=actor, waited_seconds=round(waited, 1))


class _Budget:
    def __init__(self, policy: RestartPolicy) -> None:
        self._policy = policy
        self._restarts: deque[float] = deque()

    def spend(self, now: float) -> bool:
        """Record one restart; False if that exceeds the budget."""
        self._restarts.append(now)
        while self._restarts and now - self._restarts[0] > self._policy.window:
            self._restarts.popleft()
        return len(self._restarts) <= self._policy.max_restarts


async def supervise(
    actors: Sequence[Actor],
    policy: RestartPolicy | None = None,
    faults: OutsideFaults | None = None,
) -> None:
    """Run every actor until all have returned; crashes restart only the actor that crashed."""
    policy = policy or RestartPolicy()
    budget = _Budget(policy)
    faults = faults if faults is not None else OutsideFaults()
    async with anyio.create_task_group() as tg:
        for actor in actors:
            tg.start_soon(
                _keep_running, actor, policy, budget, faults, tg, name=f"actor:{actor.name}"
            )


async def _keep_running(
    actor: Actor, policy: RestartPolicy, budget: _Budget, faults: OutsideFaults, tg: TaskGroup
) -> None:
    backoff = policy.backoff_initial
    fault_backoff = policy.backoff_initial
    restarts = 0
    while True:
        started = time.monotonic()
        if actor.name in faults.waiting:  # one line as the wait starts and one as it ends
            log.debug("actor_started", actor=actor.name, restarts=restarts)
            tg.start_soon(faults.clear_once_healthy, actor.name, policy.fault_cleared_after)
        else:
            log.info("actor_started", actor=actor.name, restarts=restarts)
        try:
            await actor.run()
        except StartupError:
            raise  # a setting or the machine is wrong: restarting cannot help
        except Exception as exc:
            # Catching Exception, not BaseException: cancellation must pass through.
            ran_for = time.monotonic() - started
            restarts += 1
            if database_unavailable(exc):
                faults.failed(actor.name, exc)
                if ran_for >= policy.fault_cleared_after:
                    fault_backoff = policy.backoff_initial
                await anyio.sleep(fault_backoff)
                fault_backoff = min(fault_backoff * 2, policy.fault_backoff_max)
                continue
            log.exception("actor_crashed", actor=actor.name, ran_seconds=round(ran_for, 3))
            if not budget.spend(time.monotonic()):
                log.critical(
                    "restart_budget_exceeded",
                    actor=actor.name,
                    max_restarts=policy.max_restarts,
                    window_seconds=policy.window,
                )
                raise RestartBudgetExceeded(
                    f"more than {policy.max_restarts} restarts within {policy.window}s"
                ) from None
            if ran_for >= policy.healthy_after:
                backoff = policy.backoff_initial
            log.info("actor_restarting", actor=actor.name, backoff_seconds=backoff)
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, policy.backoff_max)
        else:
            log.info("actor_stopped", actor=actor.name)
            return
