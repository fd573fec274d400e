"""Every decimal the API writes is a plain-notation string."""

from decimal import Decimal

import msgspec

from daemon.api.json_plain import encode


class Body(msgspec.Struct):
    values: list[Decimal]
    nested: dict[str, Decimal | None]


def test_no_exponent_and_no_negative_zero() -> None:
    body = Body(
        [Decimal("0E-8"), Decimal("1E-8"), Decimal("1E+3"), Decimal("-0E-8"), Decimal("3.50")],
        {"rate": Decimal("1452.35"), "none": None},
    )
    assert msgspec.json.decode(encode(body)) == {
        "values": ["0.00000000", "0.00000001", "1000", "0.00000000", "3.50"],
        "nested": {"rate": "1452.35", "none": None},
    }
