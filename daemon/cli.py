"""The `papertrade` command: run, edge, migrate, user add|reset|promote|password, dlq list|replay,
season create|list|end. Wiring only."""

from __future__ import annotations

import argparse
import gc
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NoReturn

import anyio
import structlog

from daemon import accounts, seasons
from daemon.config import ConfigError, Settings, load_settings, misspelled_variables
from daemon.database import create_pool, embedded_database_url
from daemon.logs import configure_logging
from daemon.migrate import migrate
from daemon.signals import stop_on_signal
from daemon.startup import EXIT_CODE, StartupError, startup_errors

log = structlog.get_logger(__name__)


async def run_daemon(settings: Settings) -> None:
    from daemon.platform import open_platform

    async with open_platform(settings, http=True) as platform, anyio.create_task_group() as tg:
        # What start-up built lives as long as the process: keep the collector off it, and
        # collect the young generation less often (it dominates tail latency under load).
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        tg.start_soon(stop_on_signal, tg.cancel_scope)
        await platform.serve()
        tg.cancel_scope.cancel()
    log.info("stopped")


async def run_migrate(settings: Settings) -> None:
    url = settings.database_url or await embedded_database_url(settings.data_dir)
    pool = await create_pool(url, min_size=1, max_size=1)
    async with pool.acquire() as conn:
        applied = await migrate(conn)
    await pool.close()
    print(f"applied {len(applied)} migration(s): {applied}" if applied else "schema is up to date")


async def _pool(settings: Settings):  # type: ignore[no-untyped-def]
    url = settings.database_url or await embedded_database_url(settings.data_dir)
    pool = await create_pool(url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    return pool


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


async def run_user(settings: Settings, args: argparse.Namespace) -> None:
    pool = await _pool(settings)
    try:
        match args.user_command:
            case "add":
                await accounts.check_names_free(pool, args.username, args.nickname or args.username)
                user = await accounts.create_user(
                    pool,
                    args.username,
                    _password(args),
                    args.nickname or args.username,
                    settings.initial_cash_krw,
                    "ADMIN" if args.admin else "USER",
                )
                print(f"created {user.role} {user.username} ({user.id})")
            case "reset":
                cash = await accounts.reset_account(pool, args.username, settings.initial_cash_krw)
                print(f"reset {args.username} to {cash} KRW")
            case "promote":
                user = await accounts.set_role(pool, args.username, "ADMIN")
                print(f"{user.username} is now ADMIN")
            case "password":
                await accounts.set_password(pool, args.username, _password(args))
                print(f"password of {args.username} changed")
    finally:
        await pool.close()


async def run_season(settings: Settings, args: argparse.Namespace) -> None:
    pool = await _pool(settings)
    now = datetime.now(UTC)
    try:
        match args.season_command:
            case "create":
                try:
                    spec = seasons.NewSeason(
                        name=args.name,
                        starts_at=datetime.fromisoformat(args.starts_at),
                        ends_at=datetime.fromisoformat(args.ends_at),
                        initial_cash_krw=Decimal(args.initial_cash or settings.initial_cash_krw),
                        markets=args.markets.split(","),
                        costs=args.costs,
                        resets_allowed=args.resets,
                        late_join=not args.no_late_join,
                        max_position_pct=None
                        if args.max_position_pct is None
                        else Decimal(args.max_position_pct),
                        portfolio_visibility=args.visibility,
                    )
                except (ValueError, InvalidOperation) as exc:
                    raise seasons.SeasonError(
                        f"{exc}: times are ISO 8601 with a zone, amounts plain numbers"
                    ) from None
                season = await seasons.create_season(pool, spec, None, now)
                print(
                    f"created season {season.name!r} ({season.id}): {season.starts_at.isoformat()} to {season.ends_at.isoformat()}"
                )
            case "list":
                for season in await seasons.list_seasons(pool):
                    print(
                        f"{season.id}  {season.status:9}  {season.starts_at.isoformat()}  "
                        f"{season.ends_at.isoformat()}  {season.participants:4} players  {season.name}"
                    )
            case "end":
                if not await seasons.end_early(pool, args.season_id, now):
                    raise seasons.SeasonError(f"no running season {args.season_id}")
                print(
                    f"season {args.season_id} ends now; the daemon freezes its standings within a second"
                )
    finally:
        await pool.close()


async def run_dlq(settings: Settings, args: argparse.Namespace) -> None:
    from daemon import dlq
    from daemon.amqp_topology import Topology

    if not settings.amqp_url:
        sys.exit("papertrade dlq: set PAPERTRADE_AMQP_URL, the RabbitMQ of the intake queue")
    topology = Topology(queue=settings.amqp_queue)
    if args.dlq_command == "list":
        letters = await dlq.list_dead_letters(settings.amqp_url, topology)
        for letter in letters:
            print(letter.line())
        print(f"{len(letters)} dead letter(s) in {topology.dead_letter_queue}")
    else:
        if not args.all and not args.message_ids:
            sys.exit("papertrade dlq replay: name the message ids to replay, or --all")
        moved = await dlq.replay(
            settings.amqp_url, topology, None if args.all else args.message_ids
        )
        print(f"replayed {len(moved)} to {topology.queue}: {' '.join(moved)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="papertrade",
        description="24-hour paper trading of KRX, US stocks and crypto, ranked in KRW. "
        "Configured by PAPERTRADE_* environment variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the daemon (applies migrations first)")
    commands.add_parser("edge", help="run the edge intake (RabbitMQ publisher)")
    commands.add_parser("migrate", help="apply pending database migrations")
    dead = commands.add_parser("dlq", help="the intake's dead letters (edge mode)")
    dead_commands = dead.add_subparsers(dest="dlq_command", required=True)
    dead_commands.add_parser("list", help="show them (they stay in the dead-letter queue)")
    replay = dead_commands.add_parser("replay", help="move them back to the intake queue")
    replay.add_argument("message_ids", nargs="*", help="message ids (= order ids) to replay")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")
    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--nickname")
    add.add_argument("--admin", action="store_true", help="make the user an ADMIN")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    reset = user_commands.add_parser("reset", help="back to the starting cash, no positions")
    reset.add_argument("username")
    promote = user_commands.add_parser("promote", help="make a user ADMIN")
    promote.add_argument("username")
    password = user_commands.add_parser("password", help="set a user's password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    season = commands.add_parser("season", help="manage seasons (competitions with rules)")
    season_commands = season.add_subparsers(dest="season_command", required=True)
    create = season_commands.add_parser("create", help="schedule a season")
    create.add_argument("name")
    create.add_argument(
        "--starts-at", required=True, help="ISO 8601 with a zone, e.g. 2026-12-07T00:00:00+09:00"
    )
    create.add_argument("--ends-at", required=True, help="ISO 8601 with a zone")
    create.add_argument("--initial-cash", help="KRW (default PAPERTRADE_INITIAL_CASH_KRW)")
    create.add_argument("--markets", default="KRX,US,CRYPTO", help="comma list of KRX, US, CRYPTO")
    create.add_argument("--costs", choices=["kr-broker-2026", "none"], default="kr-broker-2026")
    create.add_argument("--resets", type=int, default=0, help="resets allowed per player")
    create.add_argument("--no-late-join", action="store_true", help="refuse joins after the start")
    create.add_argument("--max-position-pct", help="cap of one position in percent of equity")
    create.add_argument(
        "--visibility", choices=["private", "after_end", "live", "delayed_15m"], default="after_end"
    )
    season_commands.add_parser("list", help="every season, the latest first")
    end = season_commands.add_parser("end", help="end a running season now (standings frozen)")
    end.add_argument("season_id", type=uuid.UUID)
    return parser


def _fail(message: str, code: int = EXIT_CODE) -> NoReturn:
    print(f"papertrade: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    for warning in misspelled_variables():
        print(f"papertrade: warning: {warning}", file=sys.stderr)
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    configure_logging(settings.log_level, settings.log_format)
    commands: dict[str, Callable[[], Awaitable[None]]] = {
        "run": lambda: run_daemon(settings),
        "migrate": lambda: run_migrate(settings),
        "user": lambda: run_user(settings, args),
        "dlq": lambda: run_dlq(settings, args),
        "season": lambda: run_season(settings, args),
    }
    if args.command == "edge":
        from daemon.edge.app import run_edge

        commands["edge"] = lambda: run_edge(settings)
    try:
        anyio.run(commands[args.command], backend_options={"use_uvloop": True})
    except (accounts.AccountError, seasons.SeasonError) as exc:
        sys.exit(f"papertrade: {exc}")
    except (StartupError, BaseExceptionGroup) as exc:
        first = next(startup_errors(exc), None)
        if first is None:
            raise
        _fail(str(first), first.exit_code)
