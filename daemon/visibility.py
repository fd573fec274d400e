"""What one player may see of another's holdings and trades (pure: no I/O).

A running season's `portfolio_visibility` decides for its participants, and the player's own
`share_trades` must say yes too; outside a season (free play) `share_trades` alone decides.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec

DELAY = timedelta(minutes=15)  # delayed_15m


class Sight(msgspec.Struct, frozen=True):
    holdings: bool
    trades: bool
    trades_delay: timedelta  # only trades at least this old are shown


HIDDEN = Sight(False, False, timedelta(0))
OPEN = Sight(True, True, timedelta(0))


def sight(*, own: bool, share_trades: bool, season_visibility: str | None) -> Sight:
    """What a viewer sees of a player. `season_visibility`: the `portfolio_visibility` of the
    running season the player is in (None: free play). `delayed_15m` shows trades 15 minutes
    late and no holdings (they would tell the trades of the last 15 minutes); `after_end` and
    `private` show nothing until the season ends."""
    if own:
        return OPEN
    if not share_trades:
        return HIDDEN
    match season_visibility:
        case None | "live":
            return OPEN
        case "delayed_15m":
            return Sight(False, True, DELAY)
        case _:
            return HIDDEN
