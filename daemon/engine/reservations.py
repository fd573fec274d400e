"""Reservations (SPEC 6A): what an open order holds back, and a per-user ledger of them.

An open BUY reserves its worst case in KRW: limit (or stop) price × quantity, market-type orders
with a slippage allowance, USD orders at the rate plus an FX margin, plus the buy-side fees.
An open SELL reserves its remaining quantity. The ledger is pure and in memory; the settlement
actor owns it and rebuilds it from the open orders on every start (`ReservationLedger.rebuild`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Final
from uuid import UUID

import msgspec

from daemon.engine.costs import CostPreset, fee_total, fees_for_fill
from daemon.engine.orders import MARKET_LIKE, EngineOrder
from daemon.money import MONEY_CONTEXT, QUANTUM, check_fits
from daemon.tickers import parse_ticker

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)


class ReserveParams(msgspec.Struct, frozen=True, kw_only=True):
    """PAPERTRADE_SLIPPAGE_RESERVE and PAPERTRADE_FX_RESERVE, as fractions."""

    slippage: Decimal = Decimal("0.05")
    fx: Decimal = Decimal("0.02")


class Reservation(msgspec.Struct, frozen=True):
    cash_krw: Decimal = ZERO
    quantity: Decimal = ZERO


NOTHING: Final = Reservation()


class OverCommitted(ValueError):
    """Placing or growing a reservation would take more than is available; `reason` is the code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def cash_needed(
    order: EngineOrder,
    *,
    reference_price: Decimal,
    fx_rate: Decimal | None,
    costs: CostPreset,
    on: date,
    params: ReserveParams,
) -> Decimal:
    """The worst-case KRW an open BUY `order` may still take (0 for a SELL), rounded up to 8 places.

    `reference_price` is the ask at acceptance for MARKET orders (what slippage is added to);
    priced orders reserve at their own limit or stop price.
    """
    if order.side == "SELL" or not order.is_open:
        return ZERO
    if order.amount_krw is not None:
        return order.amount_krw if order.filled_quantity == 0 else ZERO
    remaining = order.remaining_quantity
    assert remaining is not None
    if order.type in ("LIMIT", "STOP_LIMIT"):
        assert order.limit_price is not None
        price = order.limit_price
    elif order.type in MARKET_LIKE and order.stop_price is not None:
        price = order.stop_price * (ONE + params.slippage)
    else:
        price = reference_price * (ONE + params.slippage)
    ticker = parse_ticker(order.ticker_id)
    with localcontext(MONEY_CONTEXT):
        rate = ONE
        if order.currency == "USD":
            if fx_rate is None:
                raise ValueError("a USD order's reservation needs the USD/KRW rate")
            rate = fx_rate * (ONE + params.fx)
        value = (price * remaining * rate).quantize(QUANTUM, rounding=ROUND_CEILING)
        fees = fees_for_fill(
            costs,
            market=ticker.market,
            kind=ticker.kind,
            side="BUY",
            on=on,
            total_krw=value,
            quantity=remaining,
            rate=rate,
        )
        return check_fits(value + fee_total(fees), "reserved_krw")


def reservation_of(order: EngineOrder) -> Reservation:
    """What an order, as recorded, holds: its `reserved_krw`, or a SELL's remaining quantity."""
    if not order.is_open:
        return NOTHING
    if order.side == "SELL":
        remaining = order.remaining_quantity
        return Reservation(quantity=ZERO if remaining is None else remaining)
    return Reservation(cash_krw=order.reserved_krw)


class _Held(msgspec.Struct):
    user_id: UUID
    ticker_id: str
    reservation: Reservation


class ReservationLedger:
    """Every open order's reservation, with per-user sums kept exact (Decimal additions)."""

    def __init__(self) -> None:
        self._orders: dict[UUID, _Held] = {}
        self._cash: defaultdict[UUID, Decimal] = defaultdict(Decimal)
        self._quantity: defaultdict[tuple[UUID, str], Decimal] = defaultdict(Decimal)

    @classmethod
    def rebuild(cls, open_orders: Iterable[EngineOrder]) -> ReservationLedger:
        """The restart path: the ledger the recorded open orders imply (not re-checked)."""
        ledger = cls()
        for order in open_orders:
            ledger._put(order.id, order.user_id, order.ticker_id, reservation_of(order))
        return ledger

    def reserved_cash(self, user_id: UUID) -> Decimal:
        return self._cash.get(user_id, ZERO)

    def reserved_quantity(self, user_id: UUID, ticker_id: str) -> Decimal:
        return self._quantity.get((user_id, ticker_id), ZERO)

    def available_cash(self, user_id: UUID, cash_krw: Decimal) -> Decimal:
        return cash_krw - self.reserved_cash(user_id)

    def available_quantity(self, user_id: UUID, ticker_id: str, held: Decimal) -> Decimal:
        return held - self.reserved_quantity(user_id, ticker_id)

    def reservation(self, order_id: UUID) -> Reservation:
        held = self._orders.get(order_id)
        return NOTHING if held is None else held.reservation

    def reserve(
        self,
        order: EngineOrder,
        need: Reservation,
        *,
        cash_krw: Decimal,
        held_quantity: Decimal,
    ) -> None:
        """Hold `need` for `order` (replacing what it held). Growing beyond what is available
        raises OverCommitted (insufficient_cash / insufficient_quantity) and changes nothing."""
        old = self.reservation(order.id)
        if need.cash_krw > old.cash_krw:
            available = self.available_cash(order.user_id, cash_krw) + old.cash_krw
            if need.cash_krw > available:
                raise OverCommitted(
                    "insufficient_cash",
                    f"the order needs {need.cash_krw} KRW held back; {available} KRW is available",
                )
        if need.quantity > old.quantity:
            available = (
                self.available_quantity(order.user_id, order.ticker_id, held_quantity)
                + old.quantity
            )
            if need.quantity > available:
                raise OverCommitted(
                    "insufficient_quantity",
                    f"the order sells {need.quantity}; {available} is available to sell",
                )
        self.release(order.id)
        self._put(order.id, order.user_id, order.ticker_id, need)

    def hold(self, order: EngineOrder) -> None:
        """Hold what `order` as recorded holds (`reservation_of`), unchecked: its state after a
        decision, which never grows a reservation (a fill consumes it, an end releases it)."""
        self.release(order.id)
        self._put(order.id, order.user_id, order.ticker_id, reservation_of(order))

    def release(self, order_id: UUID) -> Reservation:
        """Let go of everything `order_id` held (cancel, expiry, the last fill); returns it."""
        held = self._orders.pop(order_id, None)
        if held is None:
            return NOTHING
        self._cash[held.user_id] -= held.reservation.cash_krw
        self._quantity[(held.user_id, held.ticker_id)] -= held.reservation.quantity
        return held.reservation

    def _put(self, order_id: UUID, user_id: UUID, ticker_id: str, need: Reservation) -> None:
        if need == NOTHING:
            return
        self._orders[order_id] = _Held(user_id, ticker_id, need)
        self._cash[user_id] += need.cash_krw
        self._quantity[(user_id, ticker_id)] += need.quantity
