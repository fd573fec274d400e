"""Ticker ids `MARKET-TYPE-SYMBOL` (SPEC section 3): parsing and the market/currency they imply."""

from __future__ import annotations

import functools
import re
from typing import Literal

import msgspec

Market = Literal["KRX", "US", "CRYPTO"]
Currency = Literal["KRW", "USD", "KRW-COIN"]

_TYPES: dict[str, tuple[str, ...]] = {
    "KRX": ("STOCK", "ETF"),
    "US": ("STOCK", "ETF"),
    "CRYPTO": ("COIN",),
}
_SYMBOL = {
    "KRX": re.compile(r"[0-9][0-9A-Z]{5}"),  # 005930; newer codes such as 0009K0
    "US": re.compile(r"[A-Z]{1,5}(\.[A-Z])?"),  # AAPL, BRK.B
    "CRYPTO": re.compile(r"[A-Z0-9]{1,10}"),  # BTC, 1INCH
}
CURRENCY_OF: dict[str, Currency] = {"KRX": "KRW", "US": "USD", "CRYPTO": "KRW-COIN"}


class TickerError(ValueError):
    """Not a `MARKET-TYPE-SYMBOL` id; the message shows the expected form."""


class TickerId(msgspec.Struct, frozen=True):
    market: Market
    kind: str
    symbol: str

    def __str__(self) -> str:
        return f"{self.market}-{self.kind}-{self.symbol}"

    @property
    def currency(self) -> Currency:
        return CURRENCY_OF[self.market]


def parse_ticker(text: str) -> TickerId:
    """Parse an id such as `KRX-STOCK-005930`; refuse anything else with a helpful message."""
    if not isinstance(text, str) or len(text) > 40:
        raise TickerError("ticker_id must be a string like KRX-STOCK-005930")
    return _parse(text)


@functools.lru_cache(maxsize=4096)  # settlement asks for the same few ids on every order
def _parse(text: str) -> TickerId:
    parts = text.split("-", 2)
    hint = "expected MARKET-TYPE-SYMBOL in capitals, e.g. KRX-STOCK-005930, US-STOCK-AAPL, CRYPTO-COIN-BTC"
    if len(parts) != 3:
        raise TickerError(f"ticker_id {text!r} is malformed: {hint}")
    market, kind, symbol = parts
    if market not in _TYPES:
        raise TickerError(f"ticker_id {text!r} has unknown market {market!r}: {hint}")
    if kind not in _TYPES[market]:
        raise TickerError(f"ticker_id {text!r}: type {kind!r} is not traded on {market}: {hint}")
    if not _SYMBOL[market].fullmatch(symbol):
        raise TickerError(f"ticker_id {text!r} has a malformed {market} symbol: {hint}")
    return TickerId(market, kind, symbol)  # type: ignore[arg-type]
