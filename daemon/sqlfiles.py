"""The `.sql` files: numbered migrations and named queries, read once from `sql/`."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


def sql_dir() -> Path:
    """`sql/` beside the package in a checkout, or `daemon/sql` inside a built wheel."""
    packaged = Path(str(resources.files("daemon"))) / "sql"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "sql"


@cache
def query(name: str) -> str:
    """The text of `sql/queries/<name>.sql`."""
    return (sql_dir() / "queries" / f"{name}.sql").read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every numbered migration, in order."""
    found = []
    for path in sorted(sql_dir().glob("[0-9][0-9][0-9][0-9]_*.sql")):
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None:
            raise RuntimeError(f"migration file {path.name} is not named NNNN_lower_snake.sql")
        found.append((int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number in {sql_dir()}")
    return found
