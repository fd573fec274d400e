"""Configuration: `PAPERTRADE_*` environment variables read once into a frozen Struct."""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

import limits
import msgspec
import platformdirs

from daemon.engine.costs import CostPreset, parse_fee_schedule, preset, with_commissions
from daemon.engine.reservations import ReserveParams
from daemon.startup import StartupError

ENV_PREFIX = "PAPERTRADE_"
FEED_NAMES = ("sim", "upbit", "kis", "fx")
# PAPERTRADE_* variables that are not daemon settings: the test runner's, the benchmarks' and
# the deployment files' own (ops/).
OTHER_VARIABLES = frozenset(
    ENV_PREFIX + name
    for name in (
        "SKIP_WEB", "TEST_PG", "TEST_AMQP", "SCHEMATHESIS_EXAMPLES", "BENCH_REDIS", "BIN",
        "DEV_DAEMON", "DOMAIN", "HOME_URL", "IMAGE", "WEB_IMAGE", "WG_ADDRESS",
    )
)  # fmt: skip


class ConfigError(StartupError, ValueError):
    """A configuration value is unusable; the message says which variable and why."""


# As root (a server, a container) the state goes where system services keep theirs, a folder
# whose parents everyone may traverse (see daemon/database.py: the embedded PostgreSQL runs as
# its own system user); otherwise in the user's data folder.
ROOT_DATA_DIR = Path("/var/lib/papertrade")


def _default_data_dir() -> Path:
    return ROOT_DATA_DIR if os.geteuid() == 0 else Path(platformdirs.user_data_dir("papertrade"))


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting of the daemon and the edge. Field `x` is read from `PAPERTRADE_X`."""

    data_dir: Path = _default_data_dir()
    database_url: str | None = None
    redis_url: str | None = None
    amqp_url: str | None = None
    amqp_queue: str = "orders.intake"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    feeds: tuple[str, ...] = ("sim",)
    partitions: int = 4
    initial_cash_krw: Decimal = Decimal("10000000")
    stale_after_seconds: float = 5.0
    fx_stale_after_seconds: float = 60.0
    signup: Literal["open", "invite", "closed"] = "open"
    jwt_private_key: str | None = None
    jwt_public_key: str | None = None
    jwt_ttl_seconds: int = 86400
    web_dir: Path | None = None
    log_level: str = "info"
    log_format: Literal["console", "json"] = "console"
    costs: str = "kr-broker-2026"  # trading-cost preset (daemon/engine/costs.py), or "none"
    # An override of the preset's commissions, fractions of the KRW value: "MARKET=buy/sell,...".
    fees: str | None = None
    slippage_reserve: Decimal = Decimal("0.05")  # held back above the price of market-type buys
    fx_reserve: Decimal = Decimal("0.02")  # held back above the USD/KRW rate of USD buys
    gtc_days: int = 90  # a GTC order still open after this many days is cancelled (expired)
    # A trailing stop's moved mark is written at most this long after the tick that moved it
    # (and when the daemon stops); a daemon killed meanwhile restarts from the last written mark.
    trail_mark_write_seconds: float = 1.0
    equity_interval_seconds: int = 300  # how often equity is recorded for the history chart
    upbit_api_url: str | None = None
    upbit_ws_url: str | None = None
    kis_app_key: str | None = None
    kis_app_secret: str | None = None
    kis_env: Literal["real", "mock"] = "real"
    kis_api_url: str | None = None
    kis_ws_url: str | None = None
    fx_fallback_url: str | None = None
    discord_webhook_url: str | None = None
    max_restarts: int = 10
    restart_window_seconds: float = 60.0
    # Peers whose X-Forwarded-For names the client (comma list of addresses or CIDR networks):
    # the edge's WireGuard address in two-host mode; none by default.
    trusted_proxies: tuple[str, ...] = ()
    max_open_orders: int = 200  # open orders per user (any type); more fail too_many_open_orders
    signup_rate: str = "10 per hour"  # sign-ups per client address
    # Edge mode: the oldest acceptance time (and so token) the intake still honours; older
    # messages are dead-lettered (daemon/intake_auth.py).
    intake_max_queue_age_seconds: int = 3 * 24 * 3600


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value).expanduser()
    raise NotImplementedError


def setting_variables() -> list[str]:
    return [ENV_PREFIX + field.name.upper() for field in msgspec.structs.fields(Settings)]


def misspelled_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each `PAPERTRADE_*` variable that is set but is no setting."""
    env = os.environ if environ is None else environ
    known = setting_variables()
    suffixes = [name.removeprefix(ENV_PREFIX) for name in known]
    warnings = []
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known and name not in OTHER_VARIABLES:
            close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), suffixes, n=1)
            hint = f"did you mean {ENV_PREFIX}{close[0]}?" if close else "see README's settings"
            warnings.append(f"{name} is not a papertrade setting and is ignored; {hint}")
    return warnings


def _check_key(name: str, value: str | None) -> None:
    if value and "-----BEGIN" not in value and not Path(value).expanduser().is_file():
        raise ConfigError(
            f"{ENV_PREFIX}{name} names {value!r}, which is not a file; give the key's PEM text "
            "or the path of its file, or unset it to use the key pair in the data folder"
        )


def cost_preset(settings: Settings) -> CostPreset:
    """PAPERTRADE_COSTS, with PAPERTRADE_FEES's commissions when set; ValueError says what is wrong."""
    base = preset(settings.costs)
    return (
        base if settings.fees is None else with_commissions(base, parse_fee_schedule(settings.fees))
    )


def reserve_params(settings: Settings) -> ReserveParams:
    return ReserveParams(slippage=settings.slippage_reserve, fx=settings.fx_reserve)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read `PAPERTRADE_*` variables; unset or empty means the embedded default."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        value = env.get(ENV_PREFIX + field.name.upper(), "").strip()
        if not value:
            continue
        if field.name == "feeds":
            names = [name.strip() for name in value.split(",") if name.strip()]
            raw["feeds"] = [] if names == ["none"] else names
        elif field.name == "trusted_proxies":
            raw[field.name] = [part.strip() for part in value.split(",") if part.strip()]
        else:
            raw[field.name] = value
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        problem, _, where = str(exc).partition(" - at `$.")
        name = ENV_PREFIX + where.rstrip("`").split("[")[0].upper() if where else "configuration"
        raise ConfigError(f"{name} = {env.get(name, '')!r} is unusable: {problem}") from None
    unknown = [name for name in settings.feeds if name not in FEED_NAMES]
    if unknown:
        raise ConfigError(
            f"{ENV_PREFIX}FEEDS has unknown feed(s) {unknown}; choose from {list(FEED_NAMES)}"
        )
    if settings.partitions < 1:
        raise ConfigError(f"{ENV_PREFIX}PARTITIONS must be at least 1")
    try:
        cost_preset(settings)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for name, fraction in (
        ("SLIPPAGE_RESERVE", settings.slippage_reserve),
        ("FX_RESERVE", settings.fx_reserve),
    ):
        if not Decimal(0) <= fraction < 1 or fraction != fraction.quantize(Decimal("1e-8")):
            raise ConfigError(
                f"{ENV_PREFIX}{name} must be a fraction from 0 to below 1 with at most 8 "
                f"decimals (0.05 is 5 %), not {fraction}"
            )
    if settings.gtc_days < 1:
        raise ConfigError(f"{ENV_PREFIX}GTC_DAYS must be at least 1")
    if not 0 < settings.trail_mark_write_seconds <= 60:
        raise ConfigError(
            f"{ENV_PREFIX}TRAIL_MARK_WRITE_SECONDS must be above 0 and at most 60 seconds"
        )
    _check_key("JWT_PRIVATE_KEY", settings.jwt_private_key)
    _check_key("JWT_PUBLIC_KEY", settings.jwt_public_key)
    try:
        for proxy in settings.trusted_proxies:
            ipaddress.ip_network(proxy, strict=False)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}TRUSTED_PROXIES: {exc}") from None
    try:
        limits.parse(settings.signup_rate)
    except ValueError:
        raise ConfigError(
            f"{ENV_PREFIX}SIGNUP_RATE {settings.signup_rate!r} is not a rate such as '10 per hour'"
        ) from None
    return settings
