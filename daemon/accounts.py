"""User accounts: sign-up with an opening deposit, password checks (argon2id), roles, resets."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

import anyio
import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from daemon.seasons import SeasonError, reset_allowance
from daemon.sqlfiles import query

Role = Literal["ADMIN", "USER"]
USERNAME = re.compile(r"[a-z0-9_]{3,32}")
INVITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what secrets.token_urlsafe makes
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # argon2 takes any length; a cap keeps hashing time bounded
MAX_NICKNAME = 32
# Characters that draw nothing although Unicode calls them letters or symbols: Hangul fillers,
# the blank Braille pattern, Khmer inherent vowels, the Mongolian vowel separator.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")
_ZERO_WIDTH_JOINER = "\u200d"  # allowed between two symbols: it joins emoji (👨‍👩‍👧)
_MAX_MARKS = 2  # combining marks on one character (Hangul and emoji need at most this)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when a username does not exist, so timing does not reveal which do.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# Each argon2 hash takes 64 MiB and tens of milliseconds of a core: at most this many at once,
# and at most _HASH_QUEUE waiting; beyond that a login or sign-up is told to come back later.
HASH_SLOTS = 2
HASH_QUEUE = 16
HASH_RETRY_AFTER = 2  # seconds
_hash_limiter: anyio.CapacityLimiter | None = None


class AccountError(ValueError):
    """Bad sign-up input or a conflict; `status` is the HTTP status it maps to."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


class HashingBusy(Exception):
    """Too many password hashes are running or waiting: try again in `retry_after` seconds."""

    retry_after = HASH_RETRY_AFTER


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    username: str
    nickname: str
    role: Role
    token_generation: int = 0


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountError("username must be 3 to 32 characters: lowercase letters, digits, _")


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def check_invite_code(code: str) -> None:
    if not INVITE_CODE.fullmatch(code):
        raise AccountError("invite_code is letters, digits, - and _ as an admin gave it")


def visible_nickname(nickname: str) -> str:
    """`nickname` NFC-normalised if every character of it shows; AccountError otherwise."""
    text = unicodedata.normalize("NFC", nickname)
    if not 1 <= len(text) <= MAX_NICKNAME or text != text.strip():
        raise AccountError(
            f"nickname must be 1 to {MAX_NICKNAME} characters without leading/trailing spaces"
        )
    marks = 0
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category.startswith("M"):
            marks += 1
            if index == 0 or marks > _MAX_MARKS:
                raise AccountError("nickname has combining marks that do not belong to a letter")
            continue
        marks = 0
        joins_symbols = (
            char == _ZERO_WIDTH_JOINER
            and 0 < index < len(text) - 1
            and unicodedata.category(text[index - 1]) in ("So", "Mn")
            and unicodedata.category(text[index + 1]) == "So"
        )
        if char in _BLANK_LETTERS or (
            category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") and not joins_symbols
        ):
            raise AccountError(
                f"nickname must be visible: U+{ord(char):04X} is an invisible or control character"
            )
        if category == "Zs" and char != " ":
            raise AccountError(f"nickname may use the plain space only, not U+{ord(char):04X}")
    return text


def check_signup(username: str, password: str, nickname: str) -> str:
    """The nickname to store, if the sign-up is acceptable; AccountError otherwise."""
    check_username(username)
    check_password(password)
    return visible_nickname(nickname)


async def _hash_slot(work, *args):  # type: ignore[no-untyped-def]
    """Run argon2 `work` in a worker thread, at most HASH_SLOTS at once (memory stays bounded)."""
    global _hash_limiter
    if _hash_limiter is None:
        _hash_limiter = anyio.CapacityLimiter(HASH_SLOTS)
    if _hash_limiter.statistics().tasks_waiting >= HASH_QUEUE:
        raise HashingBusy("too many logins at once; try again in a few seconds")
    return await anyio.to_thread.run_sync(work, *args, limiter=_hash_limiter)


async def hash_password(password: str) -> str:
    # Hashing takes tens of milliseconds on purpose: keep it off the event loop.
    return await _hash_slot(_hasher.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await _hash_slot(verify)


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        nickname=row["nickname"],
        role=row["role"],
        token_generation=row["token_generation"],
    )


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
    nickname = check_signup(username, password, nickname)
    if invite_code is not None:
        check_invite_code(invite_code)
    password_hash = await hash_password(password)
    async with pool.acquire() as conn, conn.transaction():
        try:
            row = await conn.fetchrow(
                query("users_insert"), uuid.uuid4(), username, nickname, password_hash, role
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "users_nickname_lower":
                raise AccountError(
                    f"nickname {nickname!r} is taken (letter case aside); choose another", 409
                ) from None
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


async def set_password(pool: asyncpg.Pool, username: str, password: str) -> uuid.UUID:
    """Set a new password and revoke every token of the user; returns the user's id."""
    check_password(password)
    user_id = await pool.fetchval(
        query("users_set_password"), username, await hash_password(password)
    )
    if user_id is None:
        raise AccountError(f"no user named {username!r}", 404)
    return user_id


async def check_names_free(pool: asyncpg.Pool, username: str, nickname: str) -> None:
    """Raise AccountError if `username` or `nickname` is malformed or taken (checked before a
    password is asked for; create_user checks both again, in its transaction)."""
    if not USERNAME.fullmatch(username):
        raise AccountError("username must be 3 to 32 characters: lowercase letters, digits, _")
    if await pool.fetchrow(query("users_by_username"), username) is not None:
        raise AccountError(f"username {username!r} is taken; choose another", 409)
    nickname = visible_nickname(nickname)
    if await pool.fetchrow(query("users_nickname_taken"), nickname) is not None:
        raise AccountError(
            f"nickname {nickname!r} is taken (letter case aside); choose another with --nickname",
            409,
        )


async def reset_account(
    pool: asyncpg.Pool, username: str, initial_cash: Decimal, at: datetime | None = None
) -> Decimal:
    """Back to the starting cash with no positions; open orders are cancelled. In a running
    season: to the season's cash, if its `resets_allowed` has some left (409 if not). Returns
    the cash the account starts again with. `at`: the time of its ledger rows (default: the
    database's now; a daemon passes its clock's)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(query("accounts_lock_wallet"), username)
        if row is None:
            raise AccountError(f"no user named {username!r}", 404)
        try:
            season_cash = await reset_allowance(conn, row["user_id"])
        except SeasonError as exc:
            raise AccountError(str(exc), exc.status) from None
        cash = initial_cash if season_cash is None else season_cash
        await conn.execute(query("accounts_reset"), row["user_id"], cash, row["balance_krw"], at)
    return cash


async def create_invite(pool: asyncpg.Pool, created_by: uuid.UUID) -> tuple[str, datetime]:
    row = await pool.fetchrow(query("invites_create"), secrets.token_urlsafe(12), created_by)
    return row["code"], row["created_at"]
