"""decide() v2: the pure decision for one open order against one market snapshot.

It returns the order's new state, the fills (each with its price, rate, KRW total, fee lines,
the rule that priced it and the quote it was decided on), the events to record, the position
after, and what the order took from the displayed book. It never reads a clock or the database.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Final, Literal

import msgspec

from daemon.engine import triggers
from daemon.engine.costs import CostPreset, FeeLine, fee_total, fees_for_fill, trade_date
from daemon.engine.exchange_rules import UPBIT_MIN_ORDER_KRW, lot_step, table_for
from daemon.engine.market import BookLevel, BookView, MarketSnapshot, QuoteView
from daemon.engine.orders import EngineOrder, Status
from daemon.engine.reservations import ReserveParams, cash_needed
from daemon.engine.ticks import TickTable
from daemon.engine.time_in_force import market_closed_text
from daemon.money import MONEY_CONTEXT, MoneyError, check_fits, round_money
from daemon.tickers import TickerId, parse_ticker

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
# "accepted" and "modified" are recorded by the actor (phase 2); decide() emits the others.
EventKind = Literal[
    "accepted",
    "modified",
    "rested",
    "triggered",
    "filled",
    "partially_filled",
    "cancelled",
    "failed",
]


class Position(msgspec.Struct, frozen=True):
    quantity: Decimal
    average_price: Decimal  # in the asset's currency


NO_POSITION: Final = Position(ZERO, ZERO)


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """The owner's state as the settlement actor holds it; available = after all reservations
    (this order's own included: the engine adds that back)."""

    cash_krw: Decimal
    available_cash_krw: Decimal
    position: Position = NO_POSITION
    # The position less what the owner's other open orders hold to sell (None: all of it).
    sellable_quantity: Decimal | None = None


class EngineFill(msgspec.Struct, frozen=True, kw_only=True):
    quantity: Decimal
    price: Decimal  # asset currency; the VWAP when the book was walked
    rate: Decimal  # KRW per unit of the asset's currency
    total_krw: Decimal  # price × quantity × rate, 8 places
    fees: tuple[FeeLine, ...]
    fee_krw: Decimal
    cash_delta: Decimal  # -(total + fee) for a BUY, total - fee for a SELL
    rule: str
    quote: QuoteView
    levels: tuple[BookLevel, ...] = ()  # what it took from the displayed book
    at: datetime


class EngineEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One row of order_events: a status change, a trigger or a fill."""

    kind: EventKind
    at: datetime
    reason: str | None = None
    reason_text: str | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    order: EngineOrder
    fills: tuple[EngineFill, ...] = ()
    events: tuple[EngineEvent, ...] = ()
    position: Position
    book: BookView | None = None  # the book after this order's take

    @property
    def cash_delta(self) -> Decimal:
        return sum((fill.cash_delta for fill in self.fills), ZERO)


class _Price(msgspec.Struct, frozen=True):
    """How much can fill now and at what price: `levels` from the book, or one unlimited level."""

    rule: str
    levels: tuple[BookLevel, ...]  # empty when `unlimited` is set
    unlimited: Decimal | None = None  # a price at which any quantity fills (no book)


def decide(
    order: EngineOrder,
    market: MarketSnapshot,
    account: Account,
    *,
    costs: CostPreset,
    reserve: ReserveParams | None = None,
    replaced: bool = False,
) -> Decision:
    """Decide `order` (open) on `market`; see the module docstring.

    `replaced`: the order was just modified, so it is judged as if it arrived now (a limit moved
    through the market fills at the touch, as a new order would), though it has rested before."""
    if not order.is_open:
        raise ValueError(f"order {order.id} is {order.status}; only open orders are decided")
    with localcontext(MONEY_CONTEXT):
        decider = _Decider(order, market, account, costs, reserve or ReserveParams())
        decider.fresh = decider.fresh or replaced
        return decider.run()


class _Decider:
    def __init__(
        self,
        order: EngineOrder,
        market: MarketSnapshot,
        account: Account,
        costs: CostPreset,
        reserve: ReserveParams,
    ) -> None:
        self.order = order
        self.market = market
        self.account = account
        self.costs = costs
        self.reserve = reserve
        self.ticker: TickerId = parse_ticker(order.ticker_id)
        self.events: list[EngineEvent] = []
        self.now = market.now
        self.fresh = order.resting_since is None  # arriving now (or just triggered, below)

    # --- outcomes -------------------------------------------------------------------------
    def _event(self, kind: EventKind, reason: str | None = None, text: str | None = None) -> None:
        self.events.append(EngineEvent(kind=kind, at=self.now, reason=reason, reason_text=text))

    def _end(self, status: Status, reason: str, text: str | None = None) -> Decision:
        self._event("failed" if status == "FAILED" else "cancelled", reason, text)
        ended = msgspec.structs.replace(self.order, status=status, reason=reason, reserved_krw=ZERO)
        return Decision(
            order=ended,
            events=tuple(self.events),
            position=self.account.position,
            book=self.market.book,
        )

    def _rest(self) -> Decision:
        order = self.order
        if order.resting_since is None:
            order = msgspec.structs.replace(order, resting_since=self.now)
            self.order = order
            self._event("rested")
        return Decision(
            order=order,
            events=tuple(self.events),
            position=self.account.position,
            book=self.market.book,
        )

    def _not_now(self, reason: str, text: str | None = None) -> Decision:
        """Nothing can fill at this instant: what that means depends on type and time in force."""
        order = self.order
        if order.time_in_force == "FOK":
            return self._end("FAILED", "fok_unfilled" if reason == "unfilled" else reason, text)
        if order.time_in_force == "IOC":
            return self._end("CANCELLED", "ioc_unfilled" if reason == "unfilled" else reason, text)
        if self.fresh and order.live_type == "MARKET" and order.time_in_force != "OPG":
            status: Status = "FAILED" if order.filled_quantity == 0 else "CANCELLED"
            return self._end(
                status, "insufficient_liquidity" if reason == "unfilled" else reason, text
            )
        return self._rest()

    # --- the decision ---------------------------------------------------------------------
    def run(self) -> Decision:
        order, market = self.order, self.market
        if order.expires_at is not None and self.now >= order.expires_at:
            return self._end("CANCELLED", "expired")
        blocked = self._blocked()
        if blocked is not None:
            text = None
            if blocked == "market_closed":
                text = market_closed_text(self.ticker.market, market.session.next_open)
            if order.time_in_force == "OPG":
                return self._rest()
            return self._not_now(blocked, text)
        quote = market.quote
        assert quote is not None
        if order.time_in_force == "OPG" and not self._opening_quote():
            return self._rest()
        trails = self.ticker.market == "CRYPTO" or market.session.regular
        if order.type == "TRAILING_STOP" and order.triggered_at is None and trails:
            self.order = triggers.advance_mark(order, quote.price, self._table())
        if not self._triggered(quote):
            return self._rest()
        price = self._price(quote)
        if price is None:
            if self.order.time_in_force == "OPG":
                return self._end("CANCELLED", "expired")
            return self._not_now("unfilled")
        return self._fill(quote, price)

    def _blocked(self) -> str | None:
        market = self.market
        if not market.session.is_open:
            return "market_closed"
        if market.quote is None:
            return "no_price"
        if market.quote_stale:
            return "stale_price"
        if self.order.currency == "USD" and (market.fx_rate is None or market.fx_stale):
            return "stale_fx_rate"
        return None

    def _opening_quote(self) -> bool:
        """The first quote of a session that opened after the order was placed."""
        session = self.market.session
        return (
            session.first_quote
            and session.opened_at is not None
            and self.order.created_at < session.opened_at
        )

    def _table(self) -> TickTable:
        return table_for(self.ticker, trade_date(self.ticker.market, self.now))

    def _triggered(self, quote: QuoteView) -> bool:
        order = self.order
        if order.type not in ("STOP", "STOP_LIMIT", "TRAILING_STOP") or order.triggered_at:
            return True
        if order.stop_price is None or not triggers.stop_reached(
            order.side, order.stop_price, quote
        ):
            return False
        self.order = msgspec.structs.replace(order, triggered_at=self.now)
        self.fresh = True  # it is a new MARKET (or LIMIT) order from this instant
        self._event("triggered")
        return True

    def _price(self, quote: QuoteView) -> _Price | None:
        """The rule and the liquidity available now, or None if the order cannot trade now."""
        order, side, book = self.order, self.order.side, self.market.book
        opening = self._opening_quote()
        if order.live_type == "MARKET":
            rule = self._touch_rule(quote)
            if order.time_in_force == "OPG":
                rule = triggers.OPG_FIRST_QUOTE
            elif order.triggered_at is not None:
                rule = triggers.STOP_TRIGGERED_MARKET
            return self._at_touch(quote, rule, None)
        limit = order.limit_price
        assert limit is not None
        if self.fresh or opening:
            if not triggers.marketable(side, limit, quote):
                return None
            if order.time_in_force == "OPG":
                rule = triggers.OPG_FIRST_QUOTE
            elif opening and not self.fresh:
                rule = triggers.SESSION_OPEN_THROUGH_LIMIT
            else:
                rule = self._touch_rule(quote)
            return self._at_touch(quote, rule, limit)
        if not triggers.limit_reached(side, limit, quote):
            return None
        if book is not None and triggers.marketable(side, limit, quote):
            size = sum((lvl.size for lvl in self._within(book.side_for(side), limit)), ZERO)
            return _Price(triggers.LIMIT_REACHED_AT_LIMIT, (BookLevel(limit, size),))
        # Reached (by the quote, or by a trade when no book is shown): it fills at its limit.
        return _Price(triggers.LIMIT_REACHED_AT_LIMIT, (), unlimited=limit)

    def _touch_rule(self, quote: QuoteView) -> str:
        if self.market.book is not None:
            return triggers.BOOK_WALK_VWAP
        quoted = quote.ask if self.order.side == "BUY" else quote.bid
        if quoted is None:
            return triggers.MARKETABLE_AT_LAST
        return (
            triggers.MARKETABLE_AT_ASK if self.order.side == "BUY" else triggers.MARKETABLE_AT_BID
        )

    def _within(
        self, levels: tuple[BookLevel, ...], limit: Decimal | None
    ) -> tuple[BookLevel, ...]:
        if limit is None:
            return levels
        if self.order.side == "BUY":
            return tuple(level for level in levels if level.price <= limit)
        return tuple(level for level in levels if level.price >= limit)

    def _at_touch(self, quote: QuoteView, rule: str, limit: Decimal | None) -> _Price:
        book = self.market.book
        if book is None:
            return _Price(rule, (), unlimited=quote.touch(self.order.side))
        return _Price(rule, self._within(book.side_for(self.order.side), limit))

    # --- money ----------------------------------------------------------------------------
    def _rate(self) -> Decimal:
        if self.order.currency == "USD":
            assert self.market.fx_rate is not None
            return self.market.fx_rate
        return ONE

    def _take(self, price: _Price, quantity: Decimal) -> tuple[BookLevel, ...]:
        """The levels `quantity` takes: from the book best first, or all at the one price."""
        if price.unlimited is not None:
            return (BookLevel(price.unlimited, quantity),)
        taken: list[BookLevel] = []
        left = quantity
        for level in price.levels:
            if left <= 0:
                break
            size = min(level.size, left)
            taken.append(BookLevel(level.price, size))
            left -= size
        return tuple(taken)

    def _cost(self, levels: tuple[BookLevel, ...]) -> tuple[Decimal, tuple[FeeLine, ...]]:
        """KRW total and fee lines of taking `levels`."""
        rate = self._rate()
        quantity = sum((lvl.size for lvl in levels), ZERO)
        total = round_money(sum((lvl.price * lvl.size for lvl in levels), ZERO) * rate)
        fees = fees_for_fill(
            self.costs,
            market=self.ticker.market,
            kind=self.ticker.kind,
            side=self.order.side,
            on=trade_date(self.ticker.market, self.now),
            total_krw=total,
            quantity=quantity,
            rate=rate,
        )
        return total, fees

    def _largest_affordable(self, price: _Price, budget: Decimal) -> Decimal:
        """The most lot steps whose cost, fees included, fits `budget` (amount_krw orders)."""
        step = lot_step(self.ticker, self.order.type)
        available = (
            None if price.unlimited is not None else sum((lvl.size for lvl in price.levels), ZERO)
        )

        def fits(steps: int) -> bool:
            total, fees = self._cost(self._take(price, step * steps))
            return total + fee_total(fees) <= budget

        unit = price.unlimited if price.unlimited is not None else price.levels[0].price
        high = int((budget / (unit * self._rate()) / step).to_integral_value(ROUND_FLOOR)) + 1
        if available is not None:
            high = min(high, int((available / step).to_integral_value(ROUND_FLOOR)))
        low = 0  # fits(0) always
        while low < high:  # the cost only grows with the quantity: binary search
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        return step * low

    def _fill(self, quote: QuoteView, price: _Price) -> Decision:
        order = self.order
        wanted = order.remaining_quantity
        if price.unlimited is None and not price.levels:
            return self._not_now("unfilled")
        try:
            if wanted is None:
                assert order.amount_krw is not None
                quantity = self._largest_affordable(price, order.amount_krw)
                if quantity == 0:
                    return self._end("FAILED", "amount_too_small")
            else:
                available = (
                    None
                    if price.unlimited is not None
                    else sum((lvl.size for lvl in price.levels), ZERO)
                )
                quantity = wanted if available is None else min(wanted, available)
                if order.time_in_force == "FOK" and quantity < wanted:
                    return self._end("FAILED", "fok_unfilled")
            taken = self._take(price, quantity)
            limits = self.market.price_limits
            if limits is not None and not all(limits.contains(lvl.price) for lvl in taken):
                return self._not_now("outside_price_limits")
            total, fees = self._cost(taken)
            fee = fee_total(fees)
            cash_delta = -(total + fee) if order.side == "BUY" else total - fee
            check_fits(self.account.cash_krw + cash_delta)
        except MoneyError:
            return self._end("FAILED", "value_too_large")
        first = order.filled_quantity == 0
        if (
            first
            and self.ticker.market == "CRYPTO"
            and (wanted or quantity) * taken[0].price < UPBIT_MIN_ORDER_KRW
        ):
            return self._end("FAILED", "below_minimum")
        if order.side == "BUY":
            if -cash_delta > self.account.available_cash_krw + order.reserved_krw:
                return self._end("FAILED" if first else "CANCELLED", "insufficient_cash")
        elif quantity > _sellable(self.account):
            return self._end("FAILED" if first else "CANCELLED", "insufficient_quantity")
        # An amount order is done when its budget is spent, not when the book ran out under it.
        exhausted = price.unlimited is None and quantity == sum(
            (lvl.size for lvl in price.levels), ZERO
        )
        return self._apply(quote, price.rule, taken, quantity, total, fees, cash_delta, exhausted)

    def _apply(
        self,
        quote: QuoteView,
        rule: str,
        taken: tuple[BookLevel, ...],
        quantity: Decimal,
        total: Decimal,
        fees: tuple[FeeLine, ...],
        cash_delta: Decimal,
        exhausted: bool,
    ) -> Decision:
        order = self.order
        vwap = round_money(sum((lvl.price * lvl.size for lvl in taken), ZERO) / quantity)
        fill = EngineFill(
            quantity=quantity,
            price=vwap,
            rate=self._rate(),
            total_krw=total,
            fees=fees,
            fee_krw=fee_total(fees),
            cash_delta=cash_delta,
            rule=rule,
            quote=quote,
            levels=taken if self.market.book is not None else (),
            at=self.now,
        )
        filled = order.filled_quantity + quantity
        average = round_money(
            ((order.average_price or ZERO) * order.filled_quantity + vwap * quantity) / filled
        )
        updated = msgspec.structs.replace(
            order,
            filled_quantity=filled,
            average_price=average,
            total_krw=order.total_krw + total,
            fees=_merge(order.fees, fees),
            fee_krw=order.fee_krw + fill.fee_krw,
            applied_exchange_rate=fill.rate,
            filled_at=self.now,
        )
        done = filled == order.quantity if order.quantity is not None else not exhausted
        position = _position_after(self.account.position, order.side, quantity, vwap)
        book = self.market.book
        if book is not None:
            book = book.minus(order.side, taken)
        if done:
            self._event("filled")
            final = msgspec.structs.replace(updated, status="FILLED", reserved_krw=ZERO)
            return Decision(
                order=final, fills=(fill,), events=tuple(self.events), position=position, book=book
            )
        self._event("partially_filled")
        if order.live_type == "MARKET" or order.time_in_force in ("IOC", "FOK"):
            self.events.append(
                EngineEvent(kind="cancelled", at=self.now, reason="insufficient_liquidity")
            )
            final = msgspec.structs.replace(
                updated, status="CANCELLED", reason="insufficient_liquidity", reserved_krw=ZERO
            )
            return Decision(
                order=final, fills=(fill,), events=tuple(self.events), position=position, book=book
            )
        resting = msgspec.structs.replace(
            updated, status="PARTIALLY_FILLED", resting_since=order.resting_since or self.now
        )
        # The fill consumed its cost from the reservation; what stays held is what the rest
        # needs, never more than is left (so available cash cannot dip below zero by rounding).
        needed = cash_needed(
            resting,
            reference_price=quote.touch(order.side),
            fx_rate=self.market.fx_rate,
            costs=self.costs,
            on=trade_date(self.ticker.market, self.now),
            params=self.reserve,
        )
        left = max(order.reserved_krw + cash_delta, ZERO) if order.side == "BUY" else ZERO
        resting = msgspec.structs.replace(resting, reserved_krw=min(needed, left))
        return Decision(
            order=resting, fills=(fill,), events=tuple(self.events), position=position, book=book
        )


def _sellable(account: Account) -> Decimal:
    held = account.sellable_quantity
    return account.position.quantity if held is None else held


def _merge(old: tuple[FeeLine, ...], new: tuple[FeeLine, ...]) -> tuple[FeeLine, ...]:
    """The order's `fees` after another fill: amounts summed per kind, first-seen order kept."""
    totals: dict[str, Decimal] = {line.kind: line.amount_krw for line in old}
    for line in new:
        totals[line.kind] = totals.get(line.kind, ZERO) + line.amount_krw
    return tuple(FeeLine(kind, amount) for kind, amount in totals.items())


def _position_after(position: Position, side: str, quantity: Decimal, price: Decimal) -> Position:
    if side == "BUY":
        held = position.quantity + quantity
        average = round_money(
            (position.quantity * position.average_price + quantity * price) / held
        )
        return Position(check_fits(held, "quantity"), average)
    remaining = position.quantity - quantity
    return Position(remaining, position.average_price if remaining else ZERO)
