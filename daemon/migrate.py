"""Apply pending migrations, each in its own transaction, recorded in `schema_migrations`."""

from __future__ import annotations

import asyncpg
import structlog

from daemon.sqlfiles import migrations, query

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every papertrade process.
_ADVISORY_LOCK = 0x7061706572


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply what is not yet applied; safe to run again and from two processes at once."""
    applied_now: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK)
    try:
        await conn.execute(query("migrations_table"))
        done = {row["version"] for row in await conn.fetch(query("migrations_applied"))}
        for version, name, sql in migrations():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(query("migrations_record"), version, name)
            log.info("migration_applied", version=version, name=name)
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK)
    return applied_now
