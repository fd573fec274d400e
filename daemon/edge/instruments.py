"""The instrument list for the edge, which has no database: read from the migrations that seed it.

The `sql/` files ship with the package (in a wheel as `daemon/sql`), so the edge refuses exactly
the instruments the daemon's database does not have, with no copy to keep in step. Only
`INSERT INTO instruments (...) VALUES (...), ...;` statements are read; tests/edge compares the
result with the instruments table of a migrated database, so a migration that changes the list
any other way fails that test instead of going unnoticed.
"""

from __future__ import annotations

import re
from decimal import Decimal

from daemon.instruments import Instrument
from daemon.sqlfiles import migrations

_INSERT = re.compile(r"INSERT\s+INTO\s+instruments\s*\(([^)]*)\)\s*VALUES", re.IGNORECASE)
# A quoted string ('' is a quote inside it), a bare word or number, or punctuation.
_TOKEN = re.compile(r"'((?:[^']|'')*)'|([^\s(),;']+)|([(),;])")


class SeedError(ValueError):
    """A migration's instrument INSERT is not in the form this reader understands."""


def seeded_instruments() -> list[Instrument]:
    """Every instrument the migrations insert, in the order they insert them."""
    found: list[Instrument] = []
    for _, name, sql in migrations():
        for match in _INSERT.finditer(sql):
            columns = [column.strip() for column in match[1].split(",")]
            for row in _rows(sql, match.end(), name):
                if len(row) != len(columns):
                    raise SeedError(f"migration {name}: a row of {len(row)} values for {columns}")
                values = dict(zip(columns, row, strict=True))
                values["sim_start_price"] = Decimal(values.get("sim_start_price") or 1)
                found.append(Instrument(**values))  # type: ignore[arg-type]
    return found


def _rows(sql: str, start: int, migration: str) -> list[list[str | None]]:
    """The `(...)` tuples after VALUES, up to the `;` that ends the statement."""
    rows: list[list[str | None]] = []
    row: list[str | None] | None = None
    for token in _TOKEN.finditer(sql, start):
        quoted, word, mark = token.groups()
        if row is None:  # between rows
            if mark == ";":
                return rows
            if mark == "(":
                row = []
            elif mark != ",":
                raise SeedError(f"migration {migration}: unexpected {token[0]!r} between rows")
        elif mark == ")":
            rows.append(row)
            row = None
        elif quoted is not None:
            row.append(quoted.replace("''", "'"))
        elif word is not None:
            row.append(None if word.upper() == "NULL" else word)
        elif mark != ",":
            raise SeedError(f"migration {migration}: unexpected {token[0]!r} in a row")
    raise SeedError(f"migration {migration}: an instrument INSERT without its closing ';'")
