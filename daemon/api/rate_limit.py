"""Attempt limits for login and sign-up (moving windows in memory, from the `limits` library).

An attempt is counted *before* it is checked, so concurrent guesses cannot all slip through
while the first ones are still being hashed. Login failures are counted per username *and*
client address, and per address: someone else's guesses cannot lock the real user out, since
they come from another address (taken from X-Forwarded-For only when the peer is a trusted
proxy, daemon/api/client_address.py).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

LOGIN_PER_USER_AND_ADDRESS = "10 per 5 minutes"
LOGIN_PER_ADDRESS = "50 per 5 minutes"


class AttemptLimiter:
    def __init__(
        self, login_per_user_and_address: str, login_per_address: str, signup: str
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._login_pair = parse(login_per_user_and_address)
        self._login_address = parse(login_per_address)
        self._signup = parse(signup)

    async def login_attempt(self, username: str, address: str) -> int:
        """Count a login attempt; 0 if it may go ahead, else seconds until one may."""
        return await self._take(
            (self._login_pair, ("login", username, address)),
            (self._login_address, ("login", address)),
        )

    async def login_succeeded(self, username: str, address: str) -> None:
        """The real user got in from `address`: their own earlier typos stop counting."""
        await self._limiter.clear(self._login_pair, "login", username, address)

    async def signup_attempt(self, address: str) -> int:
        """Count a sign-up; 0 if it may go ahead, else seconds until one may."""
        return await self._take((self._signup, ("signup", address)))

    async def _take(self, *limits: tuple[RateLimitItem, tuple[str, ...]]) -> int:
        wait = 0
        for item, identifiers in limits:
            if not await self._limiter.hit(item, *identifiers):
                stats = await self._limiter.get_window_stats(item, *identifiers)
                wait = max(wait, max(1, math.ceil(stats.reset_time - time.time())))
        return wait
