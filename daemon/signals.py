"""SIGTERM, SIGINT and SIGHUP (the terminal closed) end the process cleanly: one task owns the
signals and cancels the root scope, so everything drains and the embedded PostgreSQL stops."""

from __future__ import annotations

import signal

import anyio
import structlog

log = structlog.get_logger(__name__)


async def stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            log.info("shutdown_requested", signal=signal.Signals(signum).name)
            scope.cancel()
            return
