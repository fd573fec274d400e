"""Sign-up, login, logout, the current user, and admin invites."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import JSONBody

from daemon import accounts
from daemon.api.context import ADMIN, AUTHENTICATED, ctx
from daemon.api.errors import ConflictError, ServiceUnavailable, TooManyRequests
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


def _too_many(what: str, wait: int) -> TooManyRequests:
    return TooManyRequests(
        f"too many {what} from your address; try again in {wait} seconds",
        headers={"Retry-After": str(wait)},
    )


def _busy(exc: accounts.HashingBusy) -> ServiceUnavailable:
    return ServiceUnavailable(str(exc), headers={"Retry-After": str(exc.retry_after)})


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
            accounts.check_signup(data.username, data.password, data.nickname)
            if data.invite_code is not None:
                accounts.check_invite_code(data.invite_code)
        except accounts.AccountError as exc:
            raise ClientException(str(exc)) from None
        wait = await context.limiter.signup_attempt(context.client_address(request))
        if wait:
            raise _too_many("sign-ups", wait)
        try:
            user = await accounts.create_user(
                context.platform.pool,
                data.username,
                data.password,
                data.nickname,
                context.platform.settings.initial_cash_krw,
                invite_code=data.invite_code if mode == "invite" else None,
            )
        except accounts.HashingBusy as exc:
            raise _busy(exc) from None
        except accounts.AccountError as exc:
            if exc.status == 409:
                raise ConflictError(str(exc)) from None
            if exc.status == 403:
                raise PermissionDeniedException(str(exc)) from None
            raise ClientException(str(exc)) from None
        return _view(user)

    @post(
        "/auth/login", status_code=200, summary="Exchange username and password for a bearer token"
    )
    async def login(self, request: Request, data: JSONBody[LoginRequest]) -> TokenView:
        context = ctx(request.app.state)
        try:
            accounts.check_username(data.username)
        except accounts.AccountError as exc:
            raise ClientException(str(exc)) from None
        if len(data.password) > accounts.MAX_PASSWORD:
            raise ClientException(f"password is at most {accounts.MAX_PASSWORD} characters")
        address = context.client_address(request)
        # Counted before the (slow, awaited) password check: concurrent guesses count too.
        wait = await context.limiter.login_attempt(data.username, address)
        if wait:
            raise _too_many("failed logins", wait)
        try:
            user = await accounts.authenticate(context.platform.pool, data.username, data.password)
        except accounts.HashingBusy as exc:
            raise _busy(exc) from None
        if user is None:
            raise NotAuthorizedException("wrong username or password")
        await context.limiter.login_succeeded(data.username, address)
        return TokenView(
            access_token=context.minter.mint(user.id, user.role, user.token_generation),
            token_type="bearer",
            expires_in=int(context.minter.ttl.total_seconds()),
        )

    @post(
        "/auth/logout",
        status_code=204,
        dependencies=AUTHENTICATED,
        summary="Revoke every token of the logged-in user (all devices)",
    )
    async def logout(self, request: Request, user_id: NamedDependency[UUID]) -> None:
        await ctx(request.app.state).accounts.revoke(user_id)

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
