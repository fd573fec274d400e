"""The rankings' arithmetic (pure): the time-weighted return index, and the period's return,
max drawdown, volatility and Sharpe ratio from it. Formulas: docs/seasons.md.

The index `growth` is 1 at an account's first snapshot and is chained from one snapshot to the
next by the equity's change with the money moved in or out taken away, so deposits, resets and
season starts never count as a return.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import cache

import msgspec

# The risk-free rate of the Sharpe ratio: the Bank of Korea base rate, 2.50 % a year since
# 2025-05-29 (the players' money is KRW).
RISK_FREE_ANNUAL = Decimal("0.025")
DAILY_PER_YEAR = 365  # crypto trades every day, and a player's equity moves on every one
HOURLY_PER_YEAR = 365 * 24
GROWTH_QUANTUM = Decimal("1e-16")  # the index is stored to 16 places: no drift over a season
_STATS = Context(prec=28)
_PCT = Decimal("0.01")


class Flow(msgspec.Struct, frozen=True):
    """Money moved into (+) or out of (-) an account, from the cash ledger.

    `restart`: a WITHDRAWAL, which only a reset or a season start writes: the account started
    over, its positions closed at zero value. What it held before is gone, not lost: the next
    link is measured from the money put in after it."""

    at: datetime
    amount_krw: Decimal
    restart: bool


def chain(
    growth_before: Decimal,
    equity_before: Decimal | None,
    flows: Sequence[Flow],
    equity_now: Decimal,
) -> Decimal:
    """The index at a snapshot worth `equity_now`, from the previous snapshot's index and equity
    (None: there was none) and the flows between the two, in time order.

    A deposit counts as made at the start of the link (with snapshots every few minutes the
    difference is that of a few minutes' return on the deposit)."""
    base = Decimal(0) if equity_before is None else equity_before
    for flow in flows:
        # A restart takes out everything (its WITHDRAWAL is only the cash; the positions were
        # closed at zero): what is put in after it is the link's whole base.
        base = Decimal(0) if flow.restart else base + flow.amount_krw
    if base <= 0:
        return growth_before
    with localcontext(_STATS):
        return (growth_before * equity_now / base).quantize(GROWTH_QUANTUM, ROUND_HALF_EVEN)


def _pct(value: Decimal) -> Decimal:
    result = (value * 100).quantize(_PCT, ROUND_HALF_EVEN)
    return result if result else abs(result)  # never "-0.00"


def period_return_pct(growth_start: Decimal, growth_end: Decimal) -> Decimal:
    """The time-weighted return between two index values, in percent (2 places)."""
    if growth_start <= 0:
        return Decimal("0.00")
    with localcontext(_STATS):
        return _pct(growth_end / growth_start - 1)


class Summary(msgspec.Struct, frozen=True):
    """An index series folded into what its metrics need, so a live point is added in O(1)."""

    first: Decimal  # the index at the period's start
    last: Decimal
    peak: Decimal
    worst: Decimal  # the deepest fall from a peak so far, as a fraction of the peak
    count: int  # step returns seen
    total: Decimal  # their sum
    squares: Decimal  # the sum of their squares


def summarise(first: Decimal) -> Summary:
    return Summary(first, first, first, Decimal(0), 0, Decimal(0), Decimal(0))


def extend(summary: Summary, value: Decimal) -> Summary:
    """`summary` with one more point of the series (a step from 0 adds no return)."""
    with localcontext(_STATS):
        peak = max(summary.peak, value)
        worst = max(summary.worst, 1 - value / peak) if peak > 0 else summary.worst
        if summary.last <= 0:
            return msgspec.structs.replace(summary, last=value, peak=peak, worst=worst)
        step = value / summary.last - 1
        return Summary(
            summary.first,
            value,
            peak,
            worst,
            summary.count + 1,
            summary.total + step,
            summary.squares + step * step,
        )


def extend_all(summary: Summary, values: Sequence[Decimal]) -> Summary:
    for value in values:
        summary = extend(summary, value)
    return summary


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    return_pct: Decimal
    max_drawdown_pct: Decimal  # ≥ 0: the largest fall from a peak, in percent of the peak
    volatility_pct: Decimal | None  # None: fewer than two returns
    sharpe: Decimal | None  # None: fewer than two returns, or all the same


@cache
def _annualiser(per_year: int) -> Decimal:
    """√per_year, computed once per sampling rate."""
    return Decimal(per_year).sqrt(_STATS)


def metrics(
    summary: Summary, per_year: int, risk_free_annual: Decimal = RISK_FREE_ANNUAL
) -> Metrics:
    """The period's metrics of a summarised index series sampled `per_year` times a year:
    volatility = sample standard deviation of the step returns × √per_year (percent);
    Sharpe = (mean step return − risk_free_annual / per_year) / that deviation × √per_year."""
    volatility = ratio = None
    n = summary.count
    with localcontext(_STATS):
        if n >= 2:
            mean = summary.total / n
            variance = max((summary.squares - n * mean * mean) / (n - 1), Decimal(0))
            stdev = variance.sqrt()
            scale = _annualiser(per_year)
            volatility = _pct(stdev * scale)
            if stdev > 0:
                sharpe = ((mean - risk_free_annual / per_year) / stdev * scale).quantize(
                    _PCT, ROUND_HALF_EVEN
                )
                ratio = sharpe if sharpe else abs(sharpe)
        return Metrics(
            return_pct=period_return_pct(summary.first, summary.last),
            max_drawdown_pct=_pct(summary.worst),
            volatility_pct=volatility,
            sharpe=ratio,
        )
