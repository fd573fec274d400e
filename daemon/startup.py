"""Start-up errors: problems no restart can fix (a bad setting, a port in use, no database).

The supervisor never restarts an actor that raises one, and the command line prints it as a
single line and exits at once: EX_CONFIG (78) for a setting or the machine to change (systemd's
`RestartPreventExitStatus=78` then stays down), EX_UNAVAILABLE (69) for a service that is not
there now (the database), which a later start by the service manager may find.
"""

from __future__ import annotations

from collections.abc import Iterator

EXIT_CODE = 78  # EX_CONFIG in sysexits.h


class StartupError(Exception):
    """The daemon cannot start as configured; the message says what to change."""

    exit_code = EXIT_CODE


class ServiceUnavailable(StartupError):
    """A service the daemon needs at start is not reachable now; the message says which."""

    exit_code = 69  # EX_UNAVAILABLE


def startup_errors(exc: BaseException) -> Iterator[StartupError]:
    """Every StartupError in `exc`, which may be an exception group of task-group failures."""
    if isinstance(exc, StartupError):
        yield exc
    elif isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from startup_errors(inner)
