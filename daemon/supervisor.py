"""supervise(): run actors one-for-one, restart a crashed one with backoff, within a restart budget.

Past the budget (`max_restarts` within `window` seconds, across all actors) the supervisor
raises RestartBudgetExceeded: the process exits non-zero and the service manager restarts it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import anyio
import msgspec
import structlog

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


async def supervise(actors: Sequence[Actor], policy: RestartPolicy | None = None) -> None:
    """Run every actor until all have returned; crashes restart only the actor that crashed."""
    policy = policy or RestartPolicy()
    budget = _Budget(policy)
    async with anyio.create_task_group() as tg:
        for actor in actors:
            tg.start_soon(_keep_running, actor, policy, budget, name=f"actor:{actor.name}")


async def _keep_running(actor: Actor, policy: RestartPolicy, budget: _Budget) -> None:
    backoff = policy.backoff_initial
    restarts = 0
    while True:
        started = time.monotonic()
        log.info("actor_started", actor=actor.name, restarts=restarts)
        try:
            await actor.run()
        except StartupError:
            raise  # a setting or the machine is wrong: restarting cannot help
        except Exception:
            # Catching Exception, not BaseException: cancellation must pass through.
            ran_for = time.monotonic() - started
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
            restarts += 1
        else:
            log.info("actor_stopped", actor=actor.name)
            return
