"""Trading costs as effective-dated presets (SPEC 6A) and the `fees` breakdown of one fill.

A preset is a list of `CostRule` rows; for each (kind, market, side) the row in force on the
trade date is the latest whose `effective_from` is on or before it. A rate change is a new row.
Fees are in KRW, rounded half-even to 8 places by `fee_for`, like every other fee.

`PAPERTRADE_FEES` ("KRX=buy/sell,US=buy/sell,CRYPTO=buy/sell", fractions of the KRW value) is
an override of the preset's commission rows (`parse_fee_schedule`, `with_commissions`); taxes
and regulatory fees stay the preset's.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Context, Decimal
from typing import Final, Literal
from zoneinfo import ZoneInfo

import msgspec

from daemon.money import MoneyError, parse_decimal, round_money

Basis = Literal["value", "per_share"]
MAX_RATE: Final = Decimal("0.1")
_EXACT: Final = Context(prec=60)


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


def fee_for(total_krw: Decimal, rate: Decimal) -> Decimal:
    """The fee in KRW at `rate` on a trade worth `total_krw`, rounded half-even to 8 decimals."""
    if not isinstance(total_krw, Decimal) or not total_krw.is_finite() or total_krw < 0:
        raise ValueError(f"total_krw must be a finite, non-negative Decimal, not {total_krw!r}")
    # Wide enough that the product is exact for any total that could be money: the only
    # rounding is round_money's, never a silent one at the default 28 digits.
    return round_money(_EXACT.multiply(total_krw.copy_abs(), rate))  # copy_abs: -0 in, 0 out


class FeeLine(msgspec.Struct, frozen=True):
    """One line of an order's `fees`: a stable snake_case `kind` and its amount in KRW."""

    kind: str
    amount_krw: Decimal


class CostRule(msgspec.Struct, frozen=True, kw_only=True):
    """One rate in force from `effective_from` for `market` and `side` (instrument kinds optional).

    basis "value": `rate` is a fraction of the fill's KRW value. basis "per_share": `rate` is an
    amount in the asset's currency per unit, at most `cap` (same currency) per fill.
    """

    kind: str
    market: str
    side: Literal["BUY", "SELL"]
    effective_from: date
    rate: Decimal
    source: str
    basis: Basis = "value"
    instrument_kinds: frozenset[str] = frozenset({"STOCK", "ETF", "COIN"})
    cap: Decimal | None = None


class CostPreset(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    name: str
    rules: tuple[CostRule, ...]

    @functools.cached_property
    def _in_force(self) -> dict[tuple[str, str, str, date], tuple[CostRule, ...]]:
        return {}  # (market, kind, side, date) -> the rules then: every fill asks again

    def in_force(self, market: str, kind: str, side: str, on: date) -> tuple[CostRule, ...]:
        """The rules applying to a `side` trade of a `market`-`kind` instrument on `on`."""
        key = (market, kind, side, on)
        found = self._in_force.get(key)
        if found is None:
            found = self._in_force[key] = self._rules_in_force(market, kind, side, on)
        return found

    def _rules_in_force(self, market: str, kind: str, side: str, on: date) -> tuple[CostRule, ...]:
        latest: dict[str, CostRule] = {}
        for rule in self.rules:
            if rule.market != market or rule.side != side or rule.effective_from > on:
                continue
            current = latest.get(rule.kind)
            if current is None or rule.effective_from >= current.effective_from:
                latest[rule.kind] = rule
        return tuple(r for r in latest.values() if kind in r.instrument_kinds)


def _row(
    kind: str, market: str, side: str, since: date, rate: str, source: str, **extra: object
) -> CostRule:
    return CostRule(
        kind=kind,
        market=market,
        side=side,  # type: ignore[arg-type]
        effective_from=since,
        rate=Decimal(rate),
        source=source,
        **extra,  # type: ignore[arg-type]
    )


def _both_sides(
    kind: str, market: str, since: date, rate: str, source: str
) -> tuple[CostRule, ...]:
    return tuple(_row(kind, market, side, since, rate, source) for side in ("BUY", "SELL"))


_EPOCH: Final = date(2000, 1, 1)
_STOCKS: Final = frozenset({"STOCK"})  # KRX ETFs are exempt from the transaction tax
_KRX_TAX: Final = (
    "Securities Transaction Tax Act, Enforcement Decree art. 5 (KOSPI 0.05 % + rural "
    "development special tax 0.15 %; KOSDAQ the same total)"
)
_SEC: Final = "SEC Section 31 fee rate advisories (fiscal-year rate per $1M of sales)"
_TAF: Final = "FINRA By-Laws Schedule A, Section 1 (Trading Activity Fee on covered sales)"

# fmt: off
KR_BROKER_2026: Final = CostPreset(
    name="kr-broker-2026",
    rules=(
        # A typical Korean online (non-face-to-face) brokerage commission, e.g. KIS.
        *_both_sides("commission", "KRX", _EPOCH, "0.00015", "KIS online commission, KRX"),
        _row("krx_sell_tax", "KRX", "SELL", date(2024, 1, 1), "0.0018",
             _KRX_TAX + "; 0.18 % in 2024", instrument_kinds=_STOCKS),
        _row("krx_sell_tax", "KRX", "SELL", date(2025, 1, 1), "0.0015",
             _KRX_TAX + "; 0.15 % in 2025", instrument_kinds=_STOCKS),
        _row("krx_sell_tax", "KRX", "SELL", date(2026, 1, 1), "0.0020",
             _KRX_TAX + "; 0.20 % from 2026 (2025 tax revision)", instrument_kinds=_STOCKS),
        # KIS's standard online commission for overseas (US) stocks.
        *_both_sides("commission", "US", _EPOCH, "0.0025", "KIS online commission, US stocks"),
        _row("sec_fee", "US", "SELL", date(2024, 5, 22), "0.0000278",
             _SEC + ": $27.80 per $1M from 2024-05-22"),
        _row("sec_fee", "US", "SELL", date(2025, 5, 14), "0", _SEC + ": $0 per $1M from 2025-05-14"),
        _row("sec_fee", "US", "SELL", date(2026, 4, 4), "0.0000206",
             _SEC + ": $20.60 per $1M from 2026-04-04"),
        _row("finra_taf", "US", "SELL", date(2024, 1, 1), "0.000166",
             _TAF + ": $0.000166 a share, at most $8.30 a trade (2024-2025)",
             basis="per_share", cap=Decimal("8.30")),
        _row("finra_taf", "US", "SELL", date(2026, 1, 1), "0.000195",
             _TAF + ": $0.000195 a share, at most $9.79 a trade (2026)",
             basis="per_share", cap=Decimal("9.79")),
        *_both_sides("commission", "CRYPTO", _EPOCH, "0.0005", "Upbit KRW-market trading fee 0.05 %"),
    ),
)
# fmt: on

NO_COSTS: Final = CostPreset(name="none", rules=())
PRESETS: Final = {preset.name: preset for preset in (KR_BROKER_2026, NO_COSTS)}

_MARKET_ZONES: Final = {
    "KRX": ZoneInfo("Asia/Seoul"),
    "US": ZoneInfo("America/New_York"),
    "CRYPTO": ZoneInfo("Asia/Seoul"),
}


def preset(name: str) -> CostPreset:
    """The preset called `name` (PAPERTRADE_COSTS); ValueError naming the choices otherwise."""
    found = PRESETS.get(name)
    if found is None:
        raise ValueError(f"PAPERTRADE_COSTS: unknown preset {name!r}; choose {', '.join(PRESETS)}")
    return found


def with_commissions(base: CostPreset, schedule: FeeSchedule) -> CostPreset:
    """`base` with its commission rows replaced by the rates of a PAPERTRADE_FEES override.

    Taxes and regulatory fees stay the preset's: the override is the broker's price list only.
    """
    kept = tuple(rule for rule in base.rules if rule.kind != "commission")
    commissions = tuple(
        _row(
            "commission",
            market,
            side,
            _EPOCH,
            str(schedule.rate(market, side)),
            "PAPERTRADE_FEES override",
        )
        for market in ("KRX", "US", "CRYPTO")
        for side in ("BUY", "SELL")
    )
    return CostPreset(name=f"{base.name}+PAPERTRADE_FEES", rules=kept + commissions)


def trade_date(market: str, at: datetime) -> date:
    """The exchange's own calendar date of an instant: which day's rates apply."""
    return at.astimezone(_MARKET_ZONES[market]).date()


def fees_for_fill(
    costs: CostPreset,
    *,
    market: str,
    kind: str,
    side: str,
    on: date,
    total_krw: Decimal,
    quantity: Decimal,
    rate: Decimal,
) -> tuple[FeeLine, ...]:
    """The fee lines of a fill worth `total_krw` of `quantity` units (`rate` KRW per currency unit)."""
    lines: list[FeeLine] = []
    for rule in costs.in_force(market, kind, side, on):
        if rule.basis == "value":
            amount = fee_for(total_krw, rule.rate)
        else:
            per_trade = _EXACT.multiply(quantity, rule.rate)
            if rule.cap is not None:
                per_trade = min(per_trade, rule.cap)
            amount = round_money(_EXACT.multiply(per_trade, rate))
        lines.append(FeeLine(rule.kind, amount))
    return tuple(lines)


def fee_total(lines: tuple[FeeLine, ...]) -> Decimal:
    """`fee_krw`: the sum of the lines."""
    return sum((line.amount_krw for line in lines), Decimal(0))
