"""Reason codes the engine adds to daemon/reasons.py's list (SPEC 6A: "new reason codes are added
to /api/reasons"); phase 2 merges them there. Codes are stable: add, never rename."""

from __future__ import annotations

from typing import Final

ENGINE_REASONS: Final[dict[str, str]] = {
    "fok_unfilled": "The fill-or-kill order could not be filled completely at once, so none of it was.",
    "ioc_unfilled": "The immediate-or-cancel order could not trade at once; what was left is cancelled.",
    "insufficient_liquidity": "The displayed order book could not fill the whole order; the rest is cancelled.",
    "below_minimum": "The order is worth less than Upbit's 5,000 KRW minimum.",
    "outside_price_limits": "The price is outside today's KRX daily price limits (±30 % of the previous close).",
    "amount_too_small": "The amount is too small to buy one lot at the current price, fees included.",
}
