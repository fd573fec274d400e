"""Exchange rules checked at the door: lot sizes, ticks, KRX daily price limits, Upbit's minimum.

Each refusal is an `ExchangeRuleError` whose `rule` is a stable code and whose message names the
rule and the nearest valid values (below and above), so a 400's `detail` says what to send.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

import msgspec

from daemon.engine.ticks import TickTable, tick_table
from daemon.money import QUANTUM
from daemon.tickers import TickerId

WHOLE: Final = Decimal(1)
KRX_DAILY_LIMIT: Final = Decimal("0.30")  # ±30 % of the base price since 2015-06-15
UPBIT_MIN_ORDER_KRW: Final = Decimal(
    5000
)  # docs.upbit.com KRW market: 최소 주문 가능 금액 5,000 KRW


class ExchangeRuleError(ValueError):
    """An order breaks an exchange rule; the message names it and the nearest valid values."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class PriceLimits(msgspec.Struct, frozen=True):
    """The day's lowest and highest prices an order may carry or fill at (inclusive)."""

    lower: Decimal
    upper: Decimal

    def contains(self, price: Decimal) -> bool:
        return self.lower <= price <= self.upper


def lot_step(ticker: TickerId, order_type: str) -> Decimal:
    """The quantity step: whole KRX shares; US whole shares but fractions for MARKET; crypto 1e-8."""
    if ticker.market == "KRX":
        return WHOLE
    if ticker.market == "US":
        return QUANTUM if order_type == "MARKET" else WHOLE
    return QUANTUM


def check_quantity(ticker: TickerId, order_type: str, quantity: Decimal) -> None:
    step = lot_step(ticker, order_type)
    if quantity % step == 0:
        return
    below = (quantity / step).to_integral_value(ROUND_FLOOR) * step
    above = (quantity / step).to_integral_value(ROUND_CEILING) * step
    what = {
        "KRX": "KRX quantities are whole shares",
        "US": "US quantities are whole shares except for MARKET orders (up to 8 places)",
        "CRYPTO": "crypto quantities have at most 8 decimal places",
    }[ticker.market]
    nearest = f"{below} or {above}" if below > 0 else f"{above}"
    raise ExchangeRuleError("lot_size", f"quantity {quantity}: {what}; send {nearest}")


def table_for(ticker: TickerId, on: date) -> TickTable:
    return tick_table(ticker.market, ticker.kind, on)


def check_tick(ticker: TickerId, field: str, price: Decimal, on: date) -> None:
    table = table_for(ticker, on)
    if table.is_on_tick(price):
        return
    below, above = table.nearest(price)
    nearest = f"{below} or {above}" if below is not None else f"{above}"
    raise ExchangeRuleError(
        "tick_size",
        f"{field} {price} is not on the {table.name} tick of {table.tick_at(price)} "
        f"(table in force since {table.effective_from}); the nearest valid prices are {nearest}",
    )


def krx_price_limits(ticker: TickerId, base_price: Decimal, on: date) -> PriceLimits:
    """KRX's daily limits: the change (30 % of the base) is cut to the base price's tick; the
    upper limit is then cut down, the lower limit rounded up, to the tick at their own level
    (KRX: "odds less than the tick size shall be dropped"; both stay inside ±30 %)."""
    table = table_for(ticker, on)
    base_tick = table.tick_at(base_price)
    change = (base_price * KRX_DAILY_LIMIT / base_tick).to_integral_value(ROUND_FLOOR) * base_tick
    return PriceLimits(
        lower=table.round_up(base_price - change), upper=table.round_down(base_price + change)
    )


def check_price_limits(field: str, price: Decimal, limits: PriceLimits) -> None:
    if limits.contains(price):
        return
    raise ExchangeRuleError(
        "price_limit",
        f"{field} {price} is outside today's KRX price limits (±30 % of the previous close): "
        f"send a price from {limits.lower} to {limits.upper}",
    )


def check_minimum(ticker: TickerId, quantity: Decimal, price: Decimal) -> None:
    """Upbit refuses orders worth less than 5,000 KRW; the message gives the smallest quantity."""
    if ticker.market != "CRYPTO" or quantity * price >= UPBIT_MIN_ORDER_KRW:
        return
    smallest = (UPBIT_MIN_ORDER_KRW / price / QUANTUM).to_integral_value(ROUND_CEILING) * QUANTUM
    raise ExchangeRuleError(
        "below_minimum",
        f"the order is worth {(quantity * price).quantize(QUANTUM)} KRW; Upbit's minimum is "
        f"{UPBIT_MIN_ORDER_KRW} KRW: send a quantity of at least {smallest.normalize()} at {price}",
    )


def check_prices(
    ticker: TickerId,
    prices: dict[str, Decimal | None],
    on: date,
    limits: PriceLimits | None,
) -> None:
    """Tick and (KRX) daily-limit checks of each given price field (limit_price, stop_price)."""
    for field, price in prices.items():
        if price is None:
            continue
        check_tick(ticker, field, price, on)
        if limits is not None:
            check_price_limits(field, price, limits)
