"""What settling one order does, decided without I/O: a Fill, a Rejection, or Rest (not yet).

Market orders fill now or fail; limit orders rest until the market crosses their price.
Buys pay the ask and sells receive the bid where the quote has them, else the last price.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import msgspec

from daemon.engine.exchange_rules import UPBIT_MIN_ORDER_KRW
from daemon.fees import fee_for
from daemon.messages import FxRate, Order, Quote
from daemon.money import MONEY_CONTEXT, MoneyError, check_fits, round_money

ZERO = Decimal(0)
ONE = Decimal(1)


class Position(msgspec.Struct, frozen=True):
    quantity: Decimal
    average_price: Decimal  # in the asset's currency


NO_POSITION = Position(ZERO, ZERO)


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    price: Decimal  # asset currency
    rate: Decimal  # KRW per unit of the asset's currency
    total_krw: Decimal  # price x quantity x rate, 8 places
    fee_krw: Decimal
    cash_delta: Decimal  # -(total + fee) for a buy, total - fee for a sell
    position: Position  # the position after the fill


class Rejection(msgspec.Struct, frozen=True):
    reason: str


class Rest(msgspec.Struct, frozen=True):
    """A limit order whose price has not been reached (or whose market is closed): keep it."""


Outcome = Fill | Rejection | Rest
REST = Rest()


class MarketState(msgspec.Struct, frozen=True, kw_only=True):
    """What the settlement actor knows of the market at the instant it settles an order."""

    is_open: bool
    quote: Quote | None
    quote_stale: bool
    fx: FxRate | None  # USD/KRW; only read for USD assets
    fx_stale: bool
    fee_rate: Decimal  # fraction of total_krw for this market and side


def average_price_after_buy(position: Position, quantity: Decimal, price: Decimal) -> Decimal:
    """Quantity-weighted average of what is held and what is bought, rounded to 8 places."""
    held_cost = position.quantity * position.average_price
    return round_money((held_cost + quantity * price) / (position.quantity + quantity))


def decide(order: Order, market: MarketState, cash_krw: Decimal, position: Position) -> Outcome:
    """Settle `order` against `market`, the owner's cash and position in that ticker."""
    with localcontext(MONEY_CONTEXT):
        return _decide(order, market, cash_krw, position)


def _decide(order: Order, market: MarketState, cash_krw: Decimal, position: Position) -> Outcome:
    limit = order.type == "LIMIT"
    if not market.is_open:
        return REST if limit else Rejection("market_closed")
    quote = market.quote
    if quote is None:
        return REST if limit else Rejection("no_price")
    if market.quote_stale:
        return REST if limit else Rejection("stale_price")
    if order.currency == "USD":
        if market.fx is None or market.fx_stale:
            return REST if limit else Rejection("stale_fx_rate")
        rate = market.fx.rate
    else:
        rate = ONE

    buying = order.side == "BUY"
    price = (quote.ask if buying else quote.bid) or quote.price
    if order.limit_price is not None and (
        price > order.limit_price if buying else price < order.limit_price
    ):
        return REST

    if order.ticker_id.startswith("CRYPTO-") and order.quantity * price < UPBIT_MIN_ORDER_KRW:
        return Rejection("below_minimum")  # the door could not check it without a price
    try:
        total = round_money(price * order.quantity * rate)
        fee = fee_for(total, market.fee_rate)
        cash_delta = -(total + fee) if buying else total - fee
        check_fits(cash_krw + cash_delta)
    except MoneyError:
        return Rejection("value_too_large")

    if buying:
        if cash_krw + cash_delta < ZERO:
            return Rejection("insufficient_cash")
        try:
            average = average_price_after_buy(position, order.quantity, price)
            after = Position(check_fits(position.quantity + order.quantity), average)
        except MoneyError:
            return Rejection("value_too_large")
    else:
        if position.quantity < order.quantity:
            return Rejection("insufficient_quantity")
        remaining = position.quantity - order.quantity
        after = Position(remaining, position.average_price if remaining else ZERO)
    return Fill(
        price=price, rate=rate, total_krw=total, fee_krw=fee, cash_delta=cash_delta, position=after
    )
