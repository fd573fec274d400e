"""Start-up errors: problems no restart can fix (a bad setting, a port in use, no database).

The supervisor never restarts an actor that raises one, and the command line prints it as a
single line and exits with EX_CONFIG (78), so systemd's `RestartPreventExitStatus=78` stops too.
"""

from __future__ import annotations

from collections.abc import Iterator

EXIT_CODE = 78  # EX_CONFIG in sysexits.h


class StartupError(Exception):
    """The daemon cannot start as configured; the message says what to change."""


def startup_errors(exc: BaseException) -> Iterator[StartupError]:
    """Every StartupError in `exc`, which may be an exception group of task-group failures."""
    if isinstance(exc, StartupError):
        yield exc
    elif isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from startup_errors(inner)
