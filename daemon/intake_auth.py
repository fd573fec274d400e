"""Who sent an order message, and what they asked for, decided by the daemon alone.

The edge is the internet-facing VM: anyone holding its broker credentials can put messages on
the intake queue. So a message counts only as far as the daemon can check it itself:

- the bearer token it carries is verified with the daemon's own key (signature, issuer);
- tokens that expire while an order waits in the queue (the home may be offline for hours): the
  token must have been valid at `accepted_at`, the time the gate accepted the order (expiry with
  the usual LEEWAY), and `accepted_at` must be neither in the future (beyond LEEWAY) nor older
  than `max_queue_age` (PAPERTRADE_INTAKE_MAX_QUEUE_AGE_SECONDS, 3 days by default). A token
  taken from a message is therefore good for at most `max_queue_age` after it expires;
- the user exists in the database now;
- the request is validated again by the shared `build_order` against the daemon's instrument
  table (currency, ticker and every derived field come from there), `created_at` is the
  daemon's, and the order id must be the one the request's client_order_id determines.

`verify_senders` is the one sender check; revocation (a token generation per user) belongs in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from daemon.instruments import Instrument
from daemon.messages import Order
from daemon.order_requests import OrderRejected, build_order
from daemon.order_wire import OrderPlaced
from daemon.sqlfiles import query
from daemon.tokens import LEEWAY, Claims, TokenError, TokenVerifier


class MessageRefused(Exception):
    """This message can never be an order of the user it names: dead-letter it (the message
    says why, for the log)."""


async def verify_senders(
    pool: asyncpg.Pool,
    verifier: TokenVerifier,
    messages: Sequence[OrderPlaced],
    now: datetime,
    max_queue_age: timedelta,
) -> list[Claims | MessageRefused]:
    """For each message, the claims of the user who sent it, or why it is refused. Reads the
    users table once for all of them (a database error propagates: try again later)."""
    checked: list[Claims | MessageRefused] = []
    for message in messages:
        try:
            checked.append(_token_claims(verifier, message, now, max_queue_age))
        except MessageRefused as exc:
            checked.append(exc)
    user_ids = list({c.user_id for c in checked if isinstance(c, Claims)})
    existing = (
        {row["id"] for row in await pool.fetch(query("users_existing"), user_ids)}
        if user_ids
        else set()
    )
    return [
        c
        if isinstance(c, MessageRefused) or c.user_id in existing
        else MessageRefused(f"the token's user {c.user_id} does not exist")
        for c in checked
    ]


def _token_claims(
    verifier: TokenVerifier, message: OrderPlaced, now: datetime, max_queue_age: timedelta
) -> Claims:
    accepted_at = message.accepted_at
    if accepted_at.tzinfo is None:
        raise MessageRefused("accepted_at has no time zone")
    if accepted_at > now + LEEWAY:
        raise MessageRefused(f"accepted_at {accepted_at.isoformat()} is in the future")
    if now - accepted_at > max_queue_age:
        raise MessageRefused(
            f"accepted_at {accepted_at.isoformat()} is older than the maximum queue age "
            f"({max_queue_age.total_seconds():g} s)"
        )
    try:
        return verifier.verify_at(message.token, accepted_at)
    except TokenError as exc:
        raise MessageRefused(f"token refused: {exc}") from None


def rebuild_order(
    message: OrderPlaced, user_id: UUID, instruments: Mapping[str, Instrument], now: datetime
) -> Order:
    """The PENDING order the message's request makes for `user_id` (the verified sender), built
    by the daemon exactly as its own API would build it; MessageRefused if it is not valid."""
    try:
        order = build_order(message.request, user_id, instruments, now)
    except OrderRejected as exc:
        raise MessageRefused(f"not a valid order: {exc}") from None
    if message.request.client_order_id is None:
        return msgspec.structs.replace(order, id=message.order_id)
    if order.id != message.order_id:
        raise MessageRefused("order_id is not the id of this user's client_order_id")
    return order
