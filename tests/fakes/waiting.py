"""Waiting in tests for something outside our control (a fake server, a feeder's flag) to happen."""

from __future__ import annotations

from collections.abc import Callable

import anyio


async def eventually(condition: Callable[[], bool], seconds: float = 5) -> None:
    """Return once `condition()` holds; fail the test after `seconds`."""
    with anyio.fail_after(seconds):
        # Polling: these states belong to other components, which signal nothing we could await.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.01)
