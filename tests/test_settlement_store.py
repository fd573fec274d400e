"""The settlement batch's JSON and the function that reads it agree column by column."""

from __future__ import annotations

import re

import msgspec

from daemon.settlement_store import _Payload
from daemon.sqlfiles import migrations

_ROWS = re.compile(
    r"SELECT\s((?:(?!SELECT\s).)*?)FROM jsonb_array_elements\(batch -> '(\w+)'\)", re.S
)
_COLUMN = re.compile(r"r->>?(\d+)(?:, 'null'\))?[^,]*?\sAS (\w+)")


def _commit_function() -> str:
    return [
        sql for _, _, sql in migrations() if "CREATE OR REPLACE FUNCTION settlement_commit" in sql
    ][-1]


def test_every_row_is_read_by_position_in_its_structs_field_order() -> None:
    """Rows go as arrays (array_like): wherever the function reads a row, field n is read at
    position n, and one place reads every field."""
    payload = {f.name: f.type for f in msgspec.structs.fields(_Payload)}
    complete = set()
    for columns, key in _ROWS.findall(_commit_function()):
        row = msgspec.inspect.type_info(payload[key]).item_type  # list[...] of a row struct
        assert row.array_like, key
        fields = [f.name for f in row.fields]
        read = [(int(n), name) for n, name in _COLUMN.findall(columns)]
        assert read, key
        assert all(name == fields[n] for n, name in read), (key, read)
        if read == list(enumerate(fields)):
            complete.add(key)
    assert complete == payload.keys()
