"""Logging never blocks the event loop: an error's traceback is rendered and written by a writer
thread, so a burst of requests with errors among them is answered as fast as one without."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import anyio
import pytest
import structlog

from daemon.logs import configure_logging, stop_logging

pytestmark = pytest.mark.anyio
ERRORS = 20
WRITE_SECONDS = 0.05  # a slow terminal or journald: each line takes this long to write


class SlowStream:
    """A log destination that is slow to write to and notes which threads wrote."""

    def __init__(self) -> None:
        self.writers: set[int] = set()
        self.text: list[str] = []

    def write(self, text: str) -> int:
        self.writers.add(threading.get_ident())
        time.sleep(WRITE_SECONDS)
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def fail(depth: int) -> None:
    if depth == 0:
        raise ValueError("a bad order")
    fail(depth - 1)


@pytest.fixture(params=["console", "json"])
def slow_log(request: pytest.FixtureRequest) -> Iterator[SlowStream]:
    stream = SlowStream()
    configure_logging("info", request.param, stream=stream)
    yield stream
    stop_logging()  # back to the defaults the other tests run with
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


async def longest_stall_while(work) -> float:  # type: ignore[no-untyped-def]
    """The longest the event loop went without running a 5 ms heartbeat while `work()` ran."""
    longest = 0.0
    done = anyio.Event()

    async def heartbeat() -> None:
        nonlocal longest
        last = time.monotonic()
        while not done.is_set():
            await anyio.sleep(0.005)
            now = time.monotonic()
            longest = max(longest, now - last)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        await work()
        done.set()
    return longest


async def test_errors_are_rendered_off_the_event_loop(slow_log: SlowStream) -> None:
    log = structlog.get_logger("daemon.api.errors")

    async def burst_with_errors() -> None:
        for n in range(ERRORS):
            try:
                fail(30)
            except ValueError:
                log.exception("unhandled_error", order_id=str(n))
            await anyio.sleep(0.001)

    stall = await longest_stall_while(burst_with_errors)
    with anyio.fail_after(30):
        while sum("a bad order" in t for t in slow_log.text) < ERRORS:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert threading.get_ident() not in slow_log.writers
    assert "Traceback (most recent call last)" in "".join(slow_log.text)
    # On the loop, the writes alone would stall it for ERRORS x WRITE_SECONDS = 1 s.
    assert stall < ERRORS * WRITE_SECONDS / 2, stall
