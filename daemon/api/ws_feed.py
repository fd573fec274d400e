"""Whose fills the websocket hub shows the other signed-in clients at once (the live side of
SPEC 6C's feed), cached per player so a fill costs no database read.

A fill goes out live when `sight()` shows the player's trades with no delay: they share their
trades and play free or in a running `live` season. A `delayed_15m` season's fills are never
pushed (GET /api/feed shows them 15 minutes late); `after_end` and `private` ones not until the
season ends. What decides it (share_trades, the nickname, the running season's visibility)
changes only by PATCH /api/me/settings and a season's start or end, which `forget` the players
they concern.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

import asyncpg
import msgspec

from daemon.sqlfiles import query
from daemon.visibility import sight

PLAYERS = 10_000  # players whose sight is kept; the least recently used is dropped beyond


class Shown(msgspec.Struct, frozen=True):
    nickname: str
    live: bool  # every other player sees this player's fills as they happen


class FeedSights:
    def __init__(self, pool: asyncpg.Pool, size: int = PLAYERS) -> None:
        self._pool = pool
        self._size = size
        self._known: OrderedDict[UUID, Shown] = OrderedDict()
        self._forgets = 0  # a look-up that began before a forget is used once, not kept

    def __len__(self) -> int:
        return len(self._known)

    async def of(self, user_id: UUID) -> Shown | None:
        """How `user_id`'s fills are shown (None: no such player), from the cache if known."""
        shown = self._known.get(user_id)
        if shown is not None:
            self._known.move_to_end(user_id)
            return shown
        forgets = self._forgets
        row = await self._pool.fetchrow(query("season_player"), user_id)
        if row is None:
            return None
        seen = sight(
            own=False, share_trades=row["share_trades"], season_visibility=row["visibility"]
        )
        shown = Shown(row["nickname"], seen.trades and not seen.trades_delay)
        if forgets == self._forgets:
            self._known[user_id] = shown
            if len(self._known) > self._size:
                self._known.popitem(last=False)
        return shown

    def forget(self, user_ids: Iterable[UUID]) -> None:
        """What decides these players' sight changed: look it up again at their next fill."""
        self._forgets += 1
        for user_id in user_ids:
            self._known.pop(user_id, None)
