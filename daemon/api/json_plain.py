"""JSON for every API answer and websocket message: decimals as strings in plain notation.

msgspec writes a Decimal as `str()` does, which switches to an exponent for zero at 8 places
("0E-8"), anything under 0.000001 ("1E-8") and normalised round numbers ("1E+3"). Clients
parse these as decimal strings, so every Decimal is written with `format(value, "f")` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Response
from litestar.serialization import default_serializer

# A route's `opt` key: its answer is always under the compression minimum (an order placed), so
# the compression middleware is skipped for it rather than run to find out.
SMALL_ANSWER = "small_answer"
_DECIMAL = (Decimal,)
_BRANCHES = (dict, list)  # what msgspec.to_builtins makes of Structs, lists, tuples, sets


def plain(value: Decimal) -> str:
    """`value` without an exponent, and never a negative zero: "0.00000000", "0.00000001"."""
    text = str(value)  # the common case, and cheaper than format()
    if "E" in text or (not value and text[0] == "-"):
        return format(value if value else abs(value), "f")
    return text


def _plain_tree(value: Any) -> Any:
    # Exact types, and the leaves done in the comprehensions: a board of 1,000 rows is
    # 12,000 leaves, and a call per leaf cost more than msgspec's whole encoding.
    kind = type(value)
    if kind is dict:
        return {
            key: plain(item)
            if type(item) is Decimal
            else _plain_tree(item)
            if type(item) in _BRANCHES
            else item
            for key, item in value.items()
        }
    if kind is list:
        return [
            plain(item)
            if type(item) is Decimal
            else _plain_tree(item)
            if type(item) in _BRANCHES
            else item
            for item in value
        ]
    if kind is Decimal:
        return plain(value)
    return value


def encode(value: Any, enc_hook: Callable[[Any], Any] | None = None) -> bytes:
    """`value` (Structs, lists, dicts, ...) as JSON bytes with plain-notation decimals."""
    tree = msgspec.to_builtins(value, builtin_types=_DECIMAL, enc_hook=enc_hook)
    return msgspec.json.encode(_plain_tree(tree))


class PlainDecimalResponse(Response):
    """The API's response class: JSON bodies go through `encode`."""

    def render(
        self, content: Any, media_type: str, enc_hook: Callable[[Any], Any] = default_serializer
    ) -> bytes:
        if media_type.startswith("application/json") and not isinstance(content, (bytes, str)):
            return encode(content, enc_hook)
        return super().render(content, media_type, enc_hook)
