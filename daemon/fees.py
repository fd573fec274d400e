"""Trading fees per market and side, as fractions of a trade's KRW value, read from PAPERTRADE_FEES.

Default "KRX=0.00015/0.00215,US=0.0025/0.0025,CRYPTO=0.0005/0.0005" (MARKET=buy_rate/sell_rate):
- KRX: 0.015% brokerage each side, a typical Korean online (non-face-to-face) commission, e.g.
  KIS; sells also pay the securities transaction tax, 0.20% from 2026-01-01 for both KOSPI
  (0.05% tax + 0.15% rural development special tax) and KOSDAQ (0.20%), restored to the 2023
  level by the 2025 tax revision (it was 0.15% in 2025). So a sell is 0.00015 + 0.0020 = 0.00215.
  Not modelled: ETFs (exempt from the tax) and KONEX (0.10%) pay the same as shares.
- US: 0.25% each side, KIS's standard online commission for overseas stocks; the SEC and FINRA
  sell-side fees are a few millionths and left out.
- CRYPTO: 0.05% each side, Upbit's KRW-market trading fee.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Final

import msgspec

from daemon.money import MoneyError, parse_decimal, round_money

MAX_RATE: Final = Decimal("0.1")


class MarketFees(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fee rates of one market, as fractions of the trade's KRW value."""

    buy: Decimal
    sell: Decimal


class FeeSchedule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fee rates of every market; build it with `parse_fee_schedule`."""

    krx: MarketFees
    us: MarketFees
    crypto: MarketFees

    def rate(self, market: str, side: str) -> Decimal:
        """The fraction charged on a `side` ("BUY"/"SELL") trade in `market` (KRX, US, CRYPTO)."""
        match market:
            case "KRX":
                fees = self.krx
            case "US":
                fees = self.us
            case "CRYPTO":
                fees = self.crypto
            case _:
                raise ValueError(f"unknown market {market!r}; expected KRX, US or CRYPTO")
        match side:
            case "BUY":
                return fees.buy
            case "SELL":
                return fees.sell
            case _:
                raise ValueError(f"unknown side {side!r}; expected BUY or SELL")


_MARKET_FIELDS: Final = {"KRX": "krx", "US": "us", "CRYPTO": "crypto"}


def _parse_rate(text: str, what: str) -> Decimal:
    try:
        # At most 8 decimals (parse_decimal's rule), so total × rate stays exact below.
        rate = parse_decimal(text, what)
    except MoneyError as exc:
        raise ValueError(f"PAPERTRADE_FEES: {exc}") from None
    if not Decimal(0) <= rate <= MAX_RATE:
        raise ValueError(f"PAPERTRADE_FEES: {what} {text!r} must be between 0 and {MAX_RATE}")
    return rate.copy_abs()  # "-0" would otherwise make fees print as "-0E-8"


def parse_fee_schedule(text: str) -> FeeSchedule:
    """Read "KRX=buy/sell,US=buy/sell,CRYPTO=buy/sell"; every market once, rates in [0, 0.1].

    Raises ValueError naming the part that is wrong.
    """
    found: dict[str, MarketFees] = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            raise ValueError(f"PAPERTRADE_FEES: empty entry in {text!r}; expected MARKET=buy/sell")
        market, equals, rates = (part.strip() for part in entry.partition("="))
        if not equals:
            raise ValueError(f"PAPERTRADE_FEES: {entry!r} is not MARKET=buy_rate/sell_rate")
        if market not in _MARKET_FIELDS:
            raise ValueError(
                f"PAPERTRADE_FEES: unknown market {market!r} in {entry!r};"
                f" expected {', '.join(_MARKET_FIELDS)}"
            )
        if market in found:
            raise ValueError(f"PAPERTRADE_FEES: {market} is given more than once")
        buy, slash, sell = (part.strip() for part in rates.partition("/"))
        if not slash or "/" in sell:
            raise ValueError(f"PAPERTRADE_FEES: {entry!r} needs exactly two rates, buy/sell")
        found[market] = MarketFees(
            buy=_parse_rate(buy, f"{market} buy rate"),
            sell=_parse_rate(sell, f"{market} sell rate"),
        )
    missing = [market for market in _MARKET_FIELDS if market not in found]
    if missing:
        raise ValueError(f"PAPERTRADE_FEES: no rates for {', '.join(missing)}")
    return FeeSchedule(**{_MARKET_FIELDS[market]: fees for market, fees in found.items()})


def fee_krw(schedule: FeeSchedule, market: str, side: str, total_krw: Decimal) -> Decimal:
    """The fee in KRW on a trade worth `total_krw` in `market` on `side`."""
    return fee_for(total_krw, schedule.rate(market, side))


def fee_for(total_krw: Decimal, rate: Decimal) -> Decimal:
    """The fee in KRW at `rate` on a trade worth `total_krw`, rounded half-even to 8 decimals."""
    if not isinstance(total_krw, Decimal) or not total_krw.is_finite() or total_krw < 0:
        raise ValueError(f"total_krw must be a finite, non-negative Decimal, not {total_krw!r}")
    with localcontext() as context:
        # Wide enough that the product is exact for any total that could be money: the only
        # rounding is round_money's, never a silent one at the default 28 digits.
        context.prec = 60
        return round_money(total_krw.copy_abs() * rate)  # copy_abs: -0 in, 0 out
