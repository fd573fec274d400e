"""SIGTERM, SIGINT and SIGHUP (the terminal closed) end the process cleanly: one task owns the
signals and cancels the root scope, so everything drains and the embedded PostgreSQL stops.
A second signal while that drain runs (Ctrl-C pressed again) is logged and changes nothing:
the drain is bounded, and cutting it short is what would lose work."""

from __future__ import annotations

import asyncio
import signal

import anyio
import structlog

log = structlog.get_logger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


async def stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async for signum in signals:
            log.info("shutdown_requested", signal=signal.Signals(signum).name)
            scope.cancel()
            break
    # The receiver is gone with this task; without handlers a second SIGINT would raise
    # KeyboardInterrupt in the middle of the drain.
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, _already_stopping, signum)


def _already_stopping(signum: int) -> None:
    log.info("shutdown_in_progress", signal=signal.Signals(signum).name)
