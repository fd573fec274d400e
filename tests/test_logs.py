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


class Lines:
    """A stream that keeps what is written (from the writer thread)."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def write(self, text: str) -> int:
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class SlowStream(Lines):
    """A log destination that is slow to write to and notes which threads wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[int] = set()

    def write(self, text: str) -> int:
        self.writers.add(threading.get_ident())
        time.sleep(WRITE_SECONDS)
        return super().write(text)


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
        while "".join(slow_log.text).count("ValueError: a bad order") < ERRORS:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    # Written on the loop, the errors alone would hold the burst ERRORS x WRITE_SECONDS = 1 s.
    assert with_errors < clean + ERRORS * WRITE_SECONDS / 2, (clean, with_errors)
    assert threading.get_ident() not in slow_log.writers
    assert "Traceback (most recent call last)" in "".join(slow_log.text)


def logged(fmt: str) -> str:
    """What one line of ours, one of a library's with its traceback, and one below the level
    look like once written."""
    import uuid
    from decimal import Decimal

    stream = Lines()
    configure_logging("info", fmt, stream=stream)
    try:
        structlog.get_logger("daemon.test").info(
            "order_settled",
            order_id=uuid.UUID(int=7),
            total_krw=Decimal("100500.50000000"),
            reason="not enough cash",
        )
        structlog.get_logger("daemon.test").debug("not_shown")
        try:
            fail(2)
        except ValueError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    finally:
        stop_logging()
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    return "".join(stream.text)


def test_json_lines_carry_every_field_and_the_traceback() -> None:
    import json

    first, second = (json.loads(line) for line in logged("json").splitlines())
    assert first["event"] == "order_settled"
    assert first["level"] == "info"
    assert first["order_id"] == "00000000-0000-0000-0000-000000000007"
    assert first["total_krw"] == "100500.50000000"
    assert first["timestamp"].endswith("Z")
    assert second["logger"] == "uvicorn.error"
    assert second["level"] == "error"
    assert "ValueError: a bad order" in second["exception"]


def test_console_lines_are_key_values_with_the_traceback_below() -> None:
    text = logged("console")
    first = text.splitlines()[0]
    assert "[info     ] order_settled" in first
    assert "order_id=00000000-0000-0000-0000-000000000007" in first
    assert 'reason="not enough cash"' in first
    assert "total_krw=100500.50000000" in first
    assert "not_shown" not in text
    assert "Exception in ASGI application" in text
    assert "Traceback (most recent call last)" in text


def test_console_values_are_quoted_only_when_they_would_not_read_back_and_stamps_keep_their_second() -> (
    None
):
    from daemon.logs import render_console

    def line(timestamp: float, **values: object) -> str:
        return render_console({"event": "e", "level": "info", "timestamp": timestamp, **values})

    text = line(
        1_764_806_400.999, a="x y", b="k=v", c='say "hi"', d="two\nlines", e="", f="plain", g=7
    )
    assert text.startswith("2025-12-04 00:00:00 [info     ] e")
    assert 'a="x y" b="k=v" c="say \\"hi\\"" d="two\\nlines" e="" f=plain g=7' in text
    # Consecutive lines in the same second share its stamp; the next second gets its own.
    assert line(1_764_806_400.0, f="1").startswith("2025-12-04 00:00:00 ")
    assert line(1_764_806_401.0, f="1").startswith("2025-12-04 00:00:01 ")
    assert line(1_764_806_399.5, f="1").startswith("2025-12-03 23:59:59 ")


def test_json_stamps_are_datetimes_iso_format_to_the_microsecond_across_seconds() -> None:
    import random
    from datetime import UTC, datetime

    from daemon.logs import render_json

    def stamp(timestamp: float) -> str:
        return render_json({"event": "e", "level": "info", "timestamp": timestamp})

    def iso(timestamp: float) -> str:
        return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")[:-6]

    rng = random.Random(7)
    # Random instants, the same second again (its cached stamp), and the roundings at its edge.
    instants = [rng.uniform(1.7e9, 1.9e9) for _ in range(2_000)]
    instants += [1_764_806_400.25, 1_764_806_400.9999996, 1_764_806_401.0000004, 1_764_806_399.5]
    for timestamp in instants:
        assert f'"timestamp":"{iso(timestamp)}Z"' in stamp(timestamp), timestamp
