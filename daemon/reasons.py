"""Why an order FAILED or was CANCELLED: stable snake_case codes and their plain-English text.

The list is part of the HTTP contract (SPEC section 6); add codes, never rename them.
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "market_closed": "The market for this instrument is closed right now.",
    "insufficient_cash": "Not enough cash in the wallet to pay for this order and its fee.",
    "insufficient_quantity": "You do not hold enough of this instrument to sell that quantity.",
    "stale_price": "No fresh price for this instrument (the last one is older than 5 seconds).",
    "stale_fx_rate": "No fresh USD/KRW exchange rate, so a US asset cannot be valued in KRW.",
    "no_price": "There is no price for this instrument yet.",
    "value_too_large": "The order's value is too large to record.",
    "expired": "The order was not filled before its time in force ran out.",
    "user_cancelled": "You cancelled the order.",
    "unknown_instrument": "This instrument is not traded here.",
    "undeliverable": "The order could not be processed after several attempts.",
    "account_reset": "The account was reset to its starting cash, which cancelled open orders.",
    "too_many_open_orders": "You have as many open orders as allowed; cancel some first.",
    "fok_unfilled": "The fill-or-kill order could not be filled completely at once, so none of it was.",
    "ioc_unfilled": "The immediate-or-cancel order could not trade at once; what was left is cancelled.",
    "insufficient_liquidity": "The displayed order book could not fill the whole order; the rest is cancelled.",
    "below_minimum": "The order is worth less than Upbit's 5,000 KRW minimum.",
    "outside_price_limits": "The price is outside today's KRX daily price limits (±30 % of the previous close).",
    "calendar_unknown": "No trading session of this market is known for the order's time in force.",
    "amount_too_small": "The amount is too small to buy one lot at the current price, fees included.",
    "season_started": "A season started: the account was set to the season's starting cash, which cancelled open orders.",
    "season_market_excluded": "This season does not trade this market; only its markets can be traded until it ends.",
    "season_position_limit": "The season caps one position's share of equity; this order would take it over the cap.",
}


def reason_text(code: str | None) -> str | None:
    """The sentence for a reason code; None for None."""
    if code is None:
        return None
    return REASONS.get(code, code.replace("_", " ").capitalize() + ".")
