"""Whether the database takes writes now: what readiness reports, since `SELECT 1` also answers
on a read-only standby and on a full disk."""

from __future__ import annotations

import time

import anyio
import asyncpg
import structlog

from daemon.sqlfiles import query

log = structlog.get_logger(__name__)


class WriteProbe:
    """One tiny committed write at most every `every` seconds; callers in between (readiness
    polled by Traefik, systemd and people) share the last answer."""

    def __init__(
        self, pool: asyncpg.Pool, name: str = "daemon", every: float = 1.0, timeout: float = 2.0
    ) -> None:
        self._pool = pool
        self._name = name
        self._every = every
        self._timeout = timeout
        self._lock = anyio.Lock()
        self._checked_at = -float("inf")  # ok-float: monotonic seconds, never yet
        self._writable = True  # as assumed at start: the daemon has just migrated the schema

    @property
    def last_answer(self) -> bool:
        """The last probe's answer, without probing (for metrics)."""
        return self._writable

    async def writable(self) -> bool:
        async with self._lock:
            if time.monotonic() - self._checked_at >= self._every:
                error = await self._failed_write()
                if (error is None) != self._writable:  # one line as a fault starts, one as it ends
                    if error is None:
                        log.warning("database_writable_again")
                    else:
                        log.warning("database_not_writable", error=error)
                self._writable = error is None
                self._checked_at = time.monotonic()
            return self._writable

    async def _failed_write(self) -> str | None:
        """Why the probe's write failed; None if it committed."""
        with anyio.move_on_after(self._timeout):
            try:
                await self._pool.execute(query("write_probe"), self._name)
            except Exception as exc:  # whatever stops the write means not ready
                return repr(exc)
            return None
        return f"no answer within {self._timeout} s"
