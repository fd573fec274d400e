"""What every handler needs, kept on `app.state.ctx`: the platform, tokens, limits, the hub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from uuid import UUID

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from daemon.api.client_address import Network, client_address, parse_networks
from daemon.api.rate_limit import LOGIN_PER_ADDRESS, LOGIN_PER_USER_AND_ADDRESS, AttemptLimiter
from daemon.api.ws_hub import WebsocketHub
from daemon.messages import Order
from daemon.token_check import AccountTokens, check_token
from daemon.tokens import Claims, TokenError, TokenMinter, TokenVerifier

if TYPE_CHECKING:
    from daemon.platform import Platform


class ApiContext:
    def __init__(
        self,
        platform: Platform,
        minter: TokenMinter,
        verifier: TokenVerifier,
        hub: WebsocketHub,
        submit: Callable[[Order], Awaitable[tuple[Order, bool]]] | None = None,
    ) -> None:
        settings = platform.settings
        self.platform = platform
        self.minter = minter
        self.verifier = verifier
        self.accounts = AccountTokens(platform.pool, platform.clock)
        self.hub = hub
        self.limiter = AttemptLimiter(
            LOGIN_PER_USER_AND_ADDRESS, LOGIN_PER_ADDRESS, settings.signup_rate
        )
        self.trusted_proxies: tuple[Network, ...] = parse_networks(settings.trusted_proxies)
        # Where POST /api/orders goes: straight to the platform, or through RabbitMQ (edge mode).
        self.submit = submit or platform.submit

    def client_address(self, request: Request) -> str:
        return client_address(request, self.trusted_proxies)


def ctx(state: State) -> ApiContext:
    return state.ctx


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(
            "log in first: send 'Authorization: Bearer <access_token>' from POST /api/auth/login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def _claims(request: Request) -> Claims:
    # The daemon's context and the edge's both have `verifier`; only the daemon has accounts.
    context = ctx(request.app.state)
    try:
        return await check_token(bearer_token(request), context.verifier, context.accounts)
    except TokenError as exc:
        raise NotAuthorizedException(str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


async def provide_user_id(request: Request) -> UUID:
    """The caller's user id, from a valid bearer token (401 otherwise)."""
    return (await _claims(request)).user_id


async def provide_admin(request: Request) -> UUID:
    """The caller's id if the database says they are ADMIN now (a token's role may be old)."""
    from daemon.accounts import get_user

    claims = await _claims(request)
    user = await get_user(ctx(request.app.state).platform.pool, claims.user_id)
    if user is None or user.role != "ADMIN":
        raise PermissionDeniedException("this needs an ADMIN account")
    return user.id


# Route dependencies: `user_id` for any logged-in user, `admin_id` for ADMINs only.
AUTHENTICATED = {"user_id": Provide(provide_user_id)}
ADMIN = {"admin_id": Provide(provide_admin)}
