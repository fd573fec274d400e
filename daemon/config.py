"""Configuration: `PAPERTRADE_*` environment variables read once into a frozen Struct."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec
import platformdirs

ENV_PREFIX = "PAPERTRADE_"
FEED_NAMES = ("sim", "upbit", "kis", "fx")


class ConfigError(ValueError):
    """A configuration value is unusable; the message says which variable and why."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting of the daemon and the edge. Field `x` is read from `PAPERTRADE_X`."""

    data_dir: Path = Path(platformdirs.user_data_dir("papertrade"))
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
    # Fees as fractions of the trade's KRW value: "MARKET=buy/sell,...".
    fees: str = "KRX=0.00015/0.00215,US=0.0025/0.0025,CRYPTO=0.0005/0.0005"
    limit_order_ttl_hours: int = 24 * 7
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
    # Edge mode: the oldest acceptance time (and so token) the intake still honours; older
    # messages are dead-lettered (daemon/intake_auth.py).
    intake_max_queue_age_seconds: int = 3 * 24 * 3600


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value).expanduser()
    raise NotImplementedError


def load_settings(environ: dict[str, str] | None = None) -> Settings:
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
        else:
            raw[field.name] = value
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"bad configuration: {exc} (variables are {ENV_PREFIX}<FIELD>)") from exc
    unknown = [name for name in settings.feeds if name not in FEED_NAMES]
    if unknown:
        raise ConfigError(
            f"{ENV_PREFIX}FEEDS has unknown feed(s) {unknown}; choose from {list(FEED_NAMES)}"
        )
    if settings.partitions < 1:
        raise ConfigError(f"{ENV_PREFIX}PARTITIONS must be at least 1")
    return settings
