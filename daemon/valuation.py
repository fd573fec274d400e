"""Valuing holdings in KRW at current prices: market value, unrealized P&L, equity, returns."""

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


def percent_of(gain_krw: Decimal, base_krw: Decimal) -> Decimal:
    """`gain_krw` as a percentage of `base_krw`, 2 places; 0.00 when there is no base."""
    if base_krw <= 0:
        return Decimal("0.00")
    with localcontext(MONEY_CONTEXT):
        pct = (gain_krw * 100 / base_krw).quantize(_PERCENT, ROUND_HALF_EVEN)
    return pct if pct else abs(pct)  # never "-0.00"


class Performance(msgspec.Struct, frozen=True, kw_only=True):
    """Today's and all-time profit, money put in or taken out never counted as either."""

    day_start_equity_krw: Decimal
    day_pnl_krw: Decimal
    day_return_pct: Decimal
    net_deposits_krw: Decimal
    total_pnl_krw: Decimal
    total_return_pct: Decimal


def performance(
    equity_krw: Decimal,
    *,
    day_start_equity_krw: Decimal,
    deposits_since_day_start_krw: Decimal,
    net_deposits_krw: Decimal,
) -> Performance:
    day_pnl = equity_krw - day_start_equity_krw - deposits_since_day_start_krw
    total_pnl = equity_krw - net_deposits_krw
    return Performance(
        day_start_equity_krw=day_start_equity_krw,
        day_pnl_krw=day_pnl,
        day_return_pct=percent_of(day_pnl, day_start_equity_krw + deposits_since_day_start_krw),
        net_deposits_krw=net_deposits_krw,
        total_pnl_krw=total_pnl,
        total_return_pct=percent_of(total_pnl, net_deposits_krw),
    )
