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
    return [sql for _, _, sql in migrations() if "FUNCTION settlement_commit" in sql][-1]


def test_every_row_is_read_by_position_in_its_structs_field_order() -> None:
    """Rows go as arrays (array_like): the function must read field n at position n."""
    read = {
        key: [(int(n), name) for n, name in _COLUMN.findall(columns)]
        for columns, key in _ROWS.findall(_commit_function())
    }
    payload = {f.name: f.type for f in msgspec.structs.fields(_Payload)}
    assert read.keys() == payload.keys()
    for key, row_type in payload.items():
        row = msgspec.inspect.type_info(row_type).item_type  # list[...] of a row struct
        assert row.array_like, key
        fields = [f.name for f in row.fields]
        assert read[key] == list(enumerate(fields)), key
