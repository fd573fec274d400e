"""User accounts: sign-up with an opening deposit, password checks (argon2id), roles, resets."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

import anyio
import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from daemon.sqlfiles import query

Role = Literal["ADMIN", "USER"]
USERNAME = re.compile(r"[a-z0-9_]{3,32}")
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # argon2 takes any length; a cap keeps hashing time bounded

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when a username does not exist, so timing does not reveal which do.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """Bad sign-up input or a conflict; `status` is the HTTP status it maps to."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    username: str
    nickname: str
    role: Role


def check_signup(username: str, password: str, nickname: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountError("username must be 3 to 32 characters: lowercase letters, digits, _")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if not 1 <= len(nickname.strip()) <= 32 or nickname != nickname.strip():
        raise AccountError("nickname must be 1 to 32 characters without leading/trailing spaces")
    if any(not ch.isprintable() for ch in nickname):
        raise AccountError("nickname must not contain control characters")


async def hash_password(password: str) -> str:
    # Hashing takes tens of milliseconds on purpose: keep it off the event loop.
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


def _user(row: asyncpg.Record) -> User:
    return User(id=row["id"], username=row["username"], nickname=row["nickname"], role=row["role"])


async def create_user(
    pool: asyncpg.Pool,
    username: str,
    password: str,
    nickname: str,
    initial_cash: Decimal,
    role: Role = "USER",
    invite_code: str | None = None,
) -> User:
    """Create a user with a wallet holding `initial_cash`, recorded as a DEPOSIT in the ledger.

    With `invite_code`, the invite is used up in the same transaction (or nothing happens)."""
    check_signup(username, password, nickname)
    password_hash = await hash_password(password)
    async with pool.acquire() as conn, conn.transaction():
        try:
            row = await conn.fetchrow(
                query("users_insert"), uuid.uuid4(), username, nickname, password_hash, role
            )
        except asyncpg.UniqueViolationError:
            raise AccountError(f"username {username!r} is taken; choose another", 409) from None
        assert row is not None
        if invite_code is not None and not await conn.fetchval(
            query("invites_use"), invite_code, row["id"]
        ):
            raise AccountError(
                "that invite code is unknown or already used; ask for a new one", 403
            )
        await conn.execute(query("wallets_open"), row["id"], initial_cash)
    return _user(row)


async def authenticate(pool: asyncpg.Pool, username: str, password: str) -> User | None:
    row = await pool.fetchrow(query("users_by_username"), username)
    if not await password_matches(row["password_hash"] if row else None, password) or row is None:
        return None
    return _user(row)


async def get_user(pool: asyncpg.Pool, user_id: uuid.UUID) -> User | None:
    row = await pool.fetchrow(query("users_by_id"), user_id)
    if row is None:
        return None
    return _user(row)


async def set_role(pool: asyncpg.Pool, username: str, role: Role) -> User:
    row = await pool.fetchrow(query("users_set_role"), username, role)
    if row is None:
        raise AccountError(f"no user named {username!r}", 404)
    return _user(row)


async def set_password(pool: asyncpg.Pool, username: str, password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    status = await pool.execute(
        query("users_set_password"), username, await hash_password(password)
    )
    if status.endswith(" 0"):
        raise AccountError(f"no user named {username!r}", 404)


async def check_username_free(pool: asyncpg.Pool, username: str) -> None:
    """Raise AccountError if `username` is malformed or taken (before asking for a password)."""
    if not USERNAME.fullmatch(username):
        raise AccountError("username must be 3 to 32 characters: lowercase letters, digits, _")
    if await pool.fetchrow(query("users_by_username"), username) is not None:
        raise AccountError(f"username {username!r} is taken; choose another", 409)


async def reset_account(pool: asyncpg.Pool, username: str, initial_cash: Decimal) -> None:
    """Back to the starting cash with no positions; open orders are cancelled."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(query("accounts_lock_wallet"), username)
        if row is None:
            raise AccountError(f"no user named {username!r}", 404)
        await conn.execute(
            query("accounts_reset"), row["user_id"], initial_cash, row["balance_krw"]
        )


async def create_invite(pool: asyncpg.Pool, created_by: uuid.UUID) -> tuple[str, datetime]:
    row = await pool.fetchrow(query("invites_create"), secrets.token_urlsafe(12), created_by)
    return row["code"], row["created_at"]
