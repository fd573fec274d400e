"""Tick tables as effective-dated data: which price steps each instrument kind may be quoted in.

A rule change is a new `TickTable` with its own `effective_from`, never an `if` in code.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

import msgspec


class TickBand(msgspec.Struct, frozen=True):
    """Prices at or above `from_price` (up to the next band) move in steps of `tick`."""

    from_price: Decimal
    tick: Decimal


class TickTable(msgspec.Struct, frozen=True, kw_only=True):
    """One published tick table: bands in ascending `from_price`, the first starting at 0."""

    name: str
    effective_from: date
    source: str
    bands: tuple[TickBand, ...]

    def tick_at(self, price: Decimal) -> Decimal:
        """The tick of the band that holds `price`."""
        tick = self.bands[0].tick
        for band in self.bands:
            if price < band.from_price:
                break
            tick = band.tick
        return tick

    def is_on_tick(self, price: Decimal) -> bool:
        return price > 0 and price % self.tick_at(price) == 0

    def nearest(self, price: Decimal) -> tuple[Decimal | None, Decimal]:
        """The valid prices nearest to `price` from below and above (equal to it when on a tick).

        Below is None when no positive price on a tick lies at or under `price`.
        """
        tick = self.tick_at(price)
        below = (price / tick).to_integral_value(ROUND_FLOOR) * tick
        above = (price / tick).to_integral_value(ROUND_CEILING) * tick
        if above <= 0:
            above = tick
        return (below if below > 0 else None), above

    def round_down(self, price: Decimal) -> Decimal:
        """The highest valid price at or below `price` (the lowest tick if none)."""
        below, above = self.nearest(price)
        return below if below is not None else above

    def round_up(self, price: Decimal) -> Decimal:
        """The lowest valid price at or above `price`."""
        return self.nearest(price)[1]


def _bands(*rows: tuple[str, str]) -> tuple[TickBand, ...]:
    return tuple(TickBand(Decimal(low), Decimal(tick)) for low, tick in rows)


KRX_STOCK_2023: Final = TickTable(
    name="KRX stocks (KOSPI, KOSDAQ, KONEX)",
    effective_from=date(2023, 1, 25),
    source="KRX 유가증권/코스닥시장 업무규정 시행세칙 호가가격단위, revised for 2023-01-25 (EXTURE 3.0)",
    bands=_bands(
        ("0", "1"),
        ("2000", "5"),
        ("5000", "10"),
        ("20000", "50"),
        ("50000", "100"),
        ("200000", "500"),
        ("500000", "1000"),
    ),
)

KRX_ETF: Final = TickTable(
    name="KRX ETFs",
    effective_from=date(2023, 1, 25),
    source="KRX 유가증권시장 업무규정 시행세칙: ETF 호가가격단위 5원 at every price",
    bands=_bands(("0", "5")),
)

US_STOCK: Final = TickTable(
    name="US stocks and ETFs",
    effective_from=date(2005, 8, 29),
    source="SEC Regulation NMS Rule 612 (17 CFR 242.612): $0.01 at or above $1.00, $0.0001 below",
    bands=_bands(("0", "0.0001"), ("1", "0.01")),
)

_UPBIT_BELOW_100: Final = (
    ("0", "0.00000001"),
    ("0.0001", "0.0000001"),
    ("0.001", "0.000001"),
    ("0.01", "0.00001"),
    ("0.1", "0.0001"),
    ("1", "0.001"),
    ("10", "0.01"),
)

UPBIT_KRW_2024: Final = TickTable(
    name="Upbit KRW market",
    effective_from=date(2024, 1, 29),
    source="docs.upbit.com 원화 마켓 주문 가격 단위 (v1.4.5, policy of 2024-01-29)",
    bands=_bands(
        *_UPBIT_BELOW_100,
        ("100", "0.1"),
        ("1000", "1"),
        ("10000", "10"),
        ("100000", "50"),
        ("500000", "100"),
        ("1000000", "500"),
        ("2000000", "1000"),
    ),
)

# The 2025-07-31 page lists the bands from 100 KRW up (quoted here); below 100 KRW its
# excerpt we could read ended, so those rows carry the 2024 table's steps unchanged.
UPBIT_KRW_2025: Final = TickTable(
    name="Upbit KRW market",
    effective_from=date(2025, 7, 31),
    source="docs.upbit.com/kr/docs/krw-market-info (원화 마켓 호가 정책 전반 변경, 2025-07-31; page of 2026-05-04)",
    bands=_bands(
        *_UPBIT_BELOW_100,
        ("100", "1"),
        ("5000", "5"),
        ("10000", "10"),
        ("50000", "50"),
        ("100000", "100"),
        ("500000", "500"),
        ("1000000", "1000"),
    ),
)

# Per (market, instrument kind), every table ever in force, oldest first.
TICK_TABLES: Final[dict[tuple[str, str], tuple[TickTable, ...]]] = {
    ("KRX", "STOCK"): (KRX_STOCK_2023,),
    ("KRX", "ETF"): (KRX_ETF,),
    ("US", "STOCK"): (US_STOCK,),
    ("US", "ETF"): (US_STOCK,),
    ("CRYPTO", "COIN"): (UPBIT_KRW_2024, UPBIT_KRW_2025),
}


def tick_table(market: str, kind: str, on: date) -> TickTable:
    """The table in force on `on` for `market` and instrument `kind` (STOCK, ETF, COIN)."""
    tables = TICK_TABLES.get((market, kind))
    if tables is None:
        raise ValueError(f"no tick table for {market}-{kind}")
    in_force = [table for table in tables if table.effective_from <= on]
    # Before the oldest known table we apply the oldest: refusing every order would be worse.
    return in_force[-1] if in_force else tables[0]
