"""Sign-up, login, the current user, and admin invites."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import JSONBody

from daemon import accounts
from daemon.api.context import ADMIN, AUTHENTICATED, ctx
from daemon.api.errors import ConflictError, TooManyRequests
from daemon.api.views import InviteView, TokenView, UserView


class SignupRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    nickname: str
    invite_code: str | None = None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


def _view(user: accounts.User) -> UserView:
    return UserView(id=user.id, username=user.username, nickname=user.nickname, role=user.role)


class AuthController(Controller):
    path = "/api"
    tags = ["auth"]

    @post(
        "/auth/signup", status_code=201, summary="Create an account (starts with the initial cash)"
    )
    async def signup(self, request: Request, data: JSONBody[SignupRequest]) -> UserView:
        context = ctx(request.app.state)
        mode = context.platform.settings.signup
        if mode == "closed":
            raise PermissionDeniedException("sign-up is closed; ask an admin for an account")
        if mode == "invite" and not data.invite_code:
            raise PermissionDeniedException("sign-up needs an invite_code from an admin")
        try:
            user = await accounts.create_user(
                context.platform.pool,
                data.username,
                data.password,
                data.nickname,
                context.platform.settings.initial_cash_krw,
                invite_code=data.invite_code if mode == "invite" else None,
            )
        except accounts.AccountError as exc:
            if exc.status == 409:
                raise ConflictError(str(exc)) from None
            if exc.status == 403:
                raise PermissionDeniedException(str(exc)) from None
            raise _bad_request(str(exc)) from None
        return _view(user)

    @post(
        "/auth/login", status_code=200, summary="Exchange username and password for a bearer token"
    )
    async def login(self, request: Request, data: JSONBody[LoginRequest]) -> TokenView:
        context = ctx(request.app.state)
        address = request.client.host if request.client else "unknown"
        wait = context.limiter.retry_after(data.username, address)
        if wait:
            raise TooManyRequests(
                f"too many failed logins; try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )
        user = await accounts.authenticate(context.platform.pool, data.username, data.password)
        if user is None:
            context.limiter.failed(data.username, address)
            raise NotAuthorizedException("wrong username or password")
        context.limiter.succeeded(data.username)
        return TokenView(
            access_token=context.minter.mint(user.id, user.role),
            token_type="bearer",
            expires_in=int(context.minter.ttl.total_seconds()),
        )

    @get(
        "/me",
        dependencies=AUTHENTICATED,
        summary="The logged-in user",
    )
    async def me(self, request: Request, user_id: NamedDependency[UUID]) -> UserView:
        user = await accounts.get_user(ctx(request.app.state).platform.pool, user_id)
        if user is None:
            raise NotFoundException("this account no longer exists")
        return _view(user)

    @post(
        "/admin/invites",
        status_code=201,
        dependencies=ADMIN,
        summary="Create a one-time invite code (ADMIN only)",
    )
    async def create_invite(self, request: Request, admin_id: NamedDependency[UUID]) -> InviteView:
        code, created_at = await accounts.create_invite(
            ctx(request.app.state).platform.pool, admin_id
        )
        return InviteView(code=code, created_at=created_at)


def _bad_request(detail: str) -> Exception:
    from litestar.exceptions import ClientException

    return ClientException(detail)
