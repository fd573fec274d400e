"""Valuing holdings in KRW at current prices: market value, unrealized P&L, equity, return."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import msgspec

from daemon.money import MONEY_CONTEXT, QUANTUM

_PERCENT = Decimal("0.01")


class Holding(msgspec.Struct, frozen=True):
    ticker_id: str
    quantity: Decimal
    average_price: Decimal  # asset currency
    currency: str


class ValuedHolding(msgspec.Struct, frozen=True, kw_only=True):
    holding: Holding
    last_price: Decimal
    fx_rate: Decimal
    market_value_krw: Decimal
    unrealized_pnl_krw: Decimal


def value_holding(holding: Holding, last_price: Decimal, fx_rate: Decimal) -> ValuedHolding:
    with localcontext(MONEY_CONTEXT):
        value = holding.quantity * last_price * fx_rate
        cost = holding.quantity * holding.average_price * fx_rate
        return ValuedHolding(
            holding=holding,
            last_price=last_price,
            fx_rate=fx_rate,
            market_value_krw=value.quantize(QUANTUM, ROUND_HALF_EVEN),
            unrealized_pnl_krw=(value - cost).quantize(QUANTUM, ROUND_HALF_EVEN),
        )


def equity(cash_krw: Decimal, valued: Iterable[ValuedHolding]) -> Decimal:
    return cash_krw + sum((v.market_value_krw for v in valued), Decimal(0))


def return_pct(equity_krw: Decimal, invested_krw: Decimal) -> Decimal:
    """Percent gained on the money put in (deposits and resets), 2 places."""
    if invested_krw <= 0:
        return Decimal("0.00")
    with localcontext(MONEY_CONTEXT):
        pct = ((equity_krw - invested_krw) * 100 / invested_krw).quantize(_PERCENT, ROUND_HALF_EVEN)
    return pct if pct else abs(pct)  # never "-0.00"
