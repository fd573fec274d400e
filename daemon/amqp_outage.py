"""A RabbitMQ outage in the log: one line when it starts, one when it ends.

aio-pika retries a lost connection every `reconnect_interval` seconds and logs every failed
attempt (a `ChannelInvalidStateError` at error level, once a second for as long as the broker is
down). Those per-attempt lines are dropped here; the connection's own close and reconnect
callbacks say, once each, that the broker went away and when it came back.
"""

from __future__ import annotations

import asyncio
import logging
import time

import structlog
from aio_pika import RobustConnection

log = structlog.get_logger(__name__)

# By logger, the templates of the records dropped (aio-pika 9 and 10, aiormq 6 and 7): one per reconnection
# attempt, or the outage's start said again in other words; `amqp_connection_lost` says it once.
_PER_ATTEMPT = {
    "aio_pika.robust_connection": (
        "Connection to %s closed. Reconnecting after %r seconds.",
        'Connection attempt to "%s" failed: %s. Reconnecting after %r seconds.',
        "Reconnect attempt failed %s due to %s: %s. Retrying after %r seconds.",
    ),
    "aiormq.connection": (
        "error when creating transport: %r",
        # The loss itself, said again (with a traceback) by the connection's reader task.
        'Unexpected connection close from remote "%s", Connection.Close(reply_code=%r, '
        "reply_text=%r)",
        "Cancelling cause reader exited abnormally",
    ),
}
# A robust channel's close callback trying to reopen the channel on a connection that is gone
# (ChannelInvalidStateError once per attempt, or RuntimeError "... closed"): the connection
# itself reopens it once it is back.
_CHANNEL_REOPEN = "RobustChannel._on_close"


class _DropPerAttempt(logging.Filter):
    def __init__(self, templates: tuple[str, ...]) -> None:
        super().__init__()
        self._templates = templates

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self._templates


class _DropChannelReopen(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (args and _CHANNEL_REOPEN in repr(args[0]))


def _install() -> None:
    for name, templates in _PER_ATTEMPT.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropPerAttempt) for f in logger.filters):
            logger.addFilter(_DropPerAttempt(templates))
    tools = logging.getLogger("aio_pika.tools")
    if not any(isinstance(f, _DropChannelReopen) for f in tools.filters):
        tools.addFilter(_DropChannelReopen())


_install()


class OutageLog:
    """Logs `amqp_connection_lost` and `amqp_connection_restored` (with the outage's length).

    One per connection name for the life of the process (`of`): when the broker closes a
    connection that its owner then replaces (a declaration refused with INTERNAL_ERROR, and the
    supervisor restarts the actor), the outage ends when the new connection of that name is up."""

    _by_name: dict[str, OutageLog] = {}

    def __init__(self, name: str) -> None:
        self._name = name
        self._lost_at: float | None = None

    @classmethod
    def of(cls, name: str) -> OutageLog:
        if name not in cls._by_name:
            cls._by_name[name] = cls(name)
        return cls._by_name[name]

    def watch(self, connection: RobustConnection) -> None:
        connection.close_callbacks.add(self._lost)
        connection.reconnect_callbacks.add(self._restored)

    def connected(self) -> None:
        """A new connection of this name is up (not a reconnection of the one watched)."""
        self._restored()

    def _lost(self, _: object, error: BaseException | None = None) -> None:
        closed_by_us = error is None or isinstance(error, asyncio.CancelledError)
        if closed_by_us or self._lost_at is not None:  # or still out
            return
        self._lost_at = time.monotonic()
        log.warning("amqp_connection_lost", connection=self._name, error=repr(error))

    def _restored(self, *_: object) -> None:
        if self._lost_at is None:
            return
        outage = time.monotonic() - self._lost_at
        self._lost_at = None
        log.info("amqp_connection_restored", connection=self._name, outage_seconds=round(outage, 1))
