"""The one token check every boundary uses: signature and expiry, then, where there is a
database, that the account still exists and the token is of its current generation.

A user's token generation goes up on a password change and on logout, so every older token
stops working (issue 9 item 11). The edge has no database: it checks signature and expiry
only; revocation takes effect at the home daemon, which checks everything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from daemon.clock import Clock
from daemon.sqlfiles import query
from daemon.tokens import Claims, TokenError, TokenVerifier

# How long a looked-up generation is trusted. Changes made by this process are seen at once
# (forget); a change made elsewhere (the CLI, SQL) within this long.
GENERATION_TTL = timedelta(seconds=5)
_CACHE_SIZE = 100_000


class AccountTokens:
    """Each account's current token generation (None: no such account), cached briefly, so
    a request costs no database round trip on the hot path."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, ttl: timedelta = GENERATION_TTL) -> None:
        self._pool = pool
        self._clock = clock
        self._ttl = ttl
        self._known: dict[UUID, tuple[int | None, datetime]] = {}

    async def generation(self, user_id: UUID) -> int | None:
        now = self._clock.now()
        known = self._known.get(user_id)
        if known is not None and now < known[1]:
            return known[0]
        generation = await self._pool.fetchval(query("users_token_generation"), user_id)
        if len(self._known) >= _CACHE_SIZE:
            self._known.clear()
        self._known[user_id] = (generation, now + self._ttl)
        return generation

    async def revoke(self, user_id: UUID) -> None:
        """Make every token of `user_id` minted so far invalid (logout)."""
        await self._pool.execute(query("users_revoke_tokens"), user_id)
        self.forget(user_id)

    def forget(self, user_id: UUID) -> None:
        """Look `user_id` up again next time: this process changed its generation."""
        self._known.pop(user_id, None)


async def check_token(
    token: str, verifier: TokenVerifier, accounts: AccountTokens | None
) -> Claims:
    """The claims of `token` if it is genuine, unexpired and (with `accounts`) of a live
    account's current generation; TokenError with a message for a person otherwise."""
    claims = verifier.verify(token)
    if accounts is None:
        return claims
    generation = await accounts.generation(claims.user_id)
    if generation is None:
        raise TokenError("this account no longer exists")
    if claims.generation != generation:
        raise TokenError("the token was revoked (logout or password change); log in again")
    return claims
