"""Logging never blocks the event loop: an error's traceback is rendered and written by a writer
thread, so a burst of requests with errors among them is answered as fast as one without."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import anyio
import anyio.lowlevel
import pytest
import structlog

from daemon.logs import configure_logging, stop_logging

pytestmark = pytest.mark.anyio
BURST = 150
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


async def answer_burst(failing: int) -> float:
    """Seconds to answer a burst of BURST requests at once, `failing` of them with an error
    whose traceback is logged (as the API's handler of unexpected errors does)."""
    log = structlog.get_logger("daemon.api.errors")
    bad = set(range(0, BURST, BURST // failing)[:failing]) if failing else set()

    async def request(n: int) -> None:
        await anyio.lowlevel.checkpoint()
        if n in bad:
            try:
                fail(30)
            except ValueError:
                log.exception("unhandled_error", order_id=str(n))
        await anyio.lowlevel.checkpoint()

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        for n in range(BURST):
            tg.start_soon(request, n)
    return time.monotonic() - started


async def test_a_burst_with_errors_is_answered_as_fast_as_one_without(
    slow_log: SlowStream,
) -> None:
    clean = await answer_burst(0)
    with_errors = await answer_burst(ERRORS)
    with anyio.fail_after(30):  # the writer thread catches up on its own
        while sum("a bad order" in t for t in slow_log.text) < ERRORS:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    # Written on the loop, the errors alone would hold the burst ERRORS x WRITE_SECONDS = 1 s.
    assert with_errors < clean + ERRORS * WRITE_SECONDS / 2, (clean, with_errors)
    assert threading.get_ident() not in slow_log.writers
    assert "Traceback (most recent call last)" in "".join(slow_log.text)
