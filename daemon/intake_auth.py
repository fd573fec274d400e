"""Who sent an order message, and what they asked for, decided by the daemon alone.

The edge is the internet-facing VM: anyone holding its broker credentials can put messages on
the intake queue. So a message counts only as far as the daemon can check it itself:

- the bearer token it carries is verified with the daemon's own key (signature, issuer);
- tokens that expire while an order waits in the queue (the home may be offline for hours): the
  token must have been valid at `accepted_at`, the time the gate accepted the order (expiry with
  the usual LEEWAY), and `accepted_at` must be neither in the future (beyond LEEWAY) nor older
  than `max_queue_age` (PAPERTRADE_INTAKE_MAX_QUEUE_AGE_SECONDS, 3 days by default). A token
  taken from a message is therefore good for at most `max_queue_age` after it expires;
- the account exists in the database now and the token is of its current generation (a logout
  or a password change revokes the tokens of orders still queued; `daemon/token_check.py`);
- the request is validated again by the shared `build_order` against the daemon's instrument
  table (currency, ticker and every derived field come from there), `created_at` is the
  daemon's, and the order id must be the one the request's client_order_id determines.

`verify_senders` is the one sender check, built on the token check every boundary uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from daemon.instruments import Instrument
from daemon.messages import Order
from daemon.order_requests import OrderRejected, build_order
from daemon.order_wire import OrderPlaced
from daemon.token_check import AccountTokens, check_token
from daemon.tokens import LEEWAY, Claims, TokenError, TokenVerifier


class MessageRefused(Exception):
    """This message can never be an order of the user it names: dead-letter it (the message
    says why, for the log)."""


async def verify_senders(
    accounts: AccountTokens,
    verifier: TokenVerifier,
    messages: Sequence[OrderPlaced],
    now: datetime,
    max_queue_age: timedelta,
) -> list[Claims | MessageRefused]:
    """For each message, the claims of the user who sent it, or why it is refused. The token
    check is the one every boundary uses (`check_token`: signature, expiry, the account exists
    and the token is of its current generation, so a logout or a password change revokes what
    is still queued), with expiry judged at `accepted_at`. A database error propagates: the
    intake tries again later."""
    checked: list[Claims | MessageRefused] = []
    for message in messages:
        try:
            _check_accepted_at(message.accepted_at, now, max_queue_age)
            claims = await check_token(message.token, verifier, accounts, message.accepted_at)
        except MessageRefused as exc:
            checked.append(exc)
        except TokenError as exc:
            checked.append(MessageRefused(f"token refused: {exc}"))
        else:
            checked.append(claims)
    return checked


def _check_accepted_at(accepted_at: datetime, now: datetime, max_queue_age: timedelta) -> None:
    if accepted_at.tzinfo is None:
        raise MessageRefused("accepted_at has no time zone")
    if accepted_at > now + LEEWAY:
        raise MessageRefused(f"accepted_at {accepted_at.isoformat()} is in the future")
    if now - accepted_at > max_queue_age:
        raise MessageRefused(
            f"accepted_at {accepted_at.isoformat()} is older than the maximum queue age "
            f"({max_queue_age.total_seconds():g} s)"
        )


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
