"""Decimal money and quantities that fit NUMERIC(20,8): parsing, refusal reasons, rounding."""

from __future__ import annotations

import re
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

SCALE = 8
QUANTUM = Decimal(1).scaleb(-SCALE)  # 0.00000001
MAX_ABS = Decimal(10) ** (20 - SCALE)  # NUMERIC(20,8) holds |x| < 10^12
# Products of two NUMERIC(20,8) values have up to 40 significant digits; the default 28 would
# round before we quantize (double rounding). Settlement arithmetic runs in this context.
MONEY_CONTEXT = Context(
    prec=64, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


# What a client may send as a quantity or price: ASCII digits, optionally a point and 1 to 8
# decimals. No sign, exponent, underscore, space or non-ASCII digit (Python's Decimal() takes
# all of those, and "1E+999999999999" made it work for minutes).
DECIMAL_STRING_PATTERN = r"^[0-9]+(\.[0-9]{1,8})?$"
_DECIMAL_STRING = re.compile(r"[0-9]+(\.[0-9]{1,8})?", re.ASCII)
_INTEGER_DIGITS = 20 - SCALE


class MoneyError(ValueError):
    """A value cannot be a money amount or quantity; the message says why, for a person."""


def parse_decimal_string(value: object, field: str) -> Decimal:
    """A client's decimal string, strictly DECIMAL_STRING_PATTERN, that NUMERIC(20,8) holds."""
    if not isinstance(value, str):
        raise MoneyError(
            f'{field} must be a JSON string such as "0.5", not a JSON number or other value '
            "(a number may lose digits on the way)"
        )
    if not _DECIMAL_STRING.fullmatch(value):
        raise MoneyError(
            f"{field} must match {DECIMAL_STRING_PATTERN}: ASCII digits, optionally a point and "
            f'1 to {SCALE} decimals, e.g. "0.5" (no sign, exponent, spaces or separators)'
        )
    if len(value.partition(".")[0].lstrip("0")) > _INTEGER_DIGITS:
        raise MoneyError(f"{field} is too large: at most {_INTEGER_DIGITS} digits before the point")
    return check_fits(Decimal(value), field)


def parse_decimal(value: object, field: str = "value") -> Decimal:
    """Read a decimal from a JSON string or integer (never a float) and check it fits NUMERIC(20,8).

    Refuses NaN, Infinity, more than 8 decimal places and magnitudes of 10^12 or more.
    """
    if isinstance(value, (bool, float)):
        raise MoneyError(f'{field} must be a decimal string such as "0.5", not a JSON number')
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            raise MoneyError(f'{field} must be a decimal string such as "0.5"')
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{field} {value!r} is not a decimal number") from None
    else:
        raise MoneyError(f'{field} must be a decimal string such as "0.5"')
    return check_fits(number, field)


def check_fits(number: Decimal, field: str = "value") -> Decimal:
    """Return `number` unchanged if NUMERIC(20,8) stores it exactly, else raise MoneyError."""
    _check_size(number, field)
    # Below MAX_ABS the quantized value has at most 20 digits: exact in the wide context.
    if number != number.quantize(QUANTUM, context=MONEY_CONTEXT):
        raise MoneyError(f"{field} has more than {SCALE} decimal places")
    return number


def round_money(amount: Decimal) -> Decimal:
    """Round a computed amount to 8 decimals (banker's rounding) and check it still fits."""
    # In the wide context whatever the caller's: no digit is lost before the one rounding. The
    # result has 8 places by construction, so only its size is left to check (check_fits would
    # quantize it a second time).
    rounded = amount.quantize(QUANTUM, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)
    _check_size(rounded, "amount")
    return rounded


def _check_size(number: Decimal, field: str) -> None:
    if not number.is_finite():
        raise MoneyError(f"{field} must be a finite number, not {number}")
    if abs(number) >= MAX_ABS:
        raise MoneyError(f"{field} is too large: at most 12 digits before the decimal point")
