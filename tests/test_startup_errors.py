"""Configuration and start-up errors: one line saying what to change, exit 78 at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import load_settings, misspelled_variables
from daemon.startup import EXIT_CODE, ServiceUnavailable


def papertrade(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAPERTRADE_")}
    full = {"PAPERTRADE_FEEDS": "none", "PAPERTRADE_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        env={**clean, **full},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], *words: str, code: int = EXIT_CODE
) -> None:
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    [line] = [line for line in result.stderr.splitlines() if line.startswith("papertrade: ")]
    for word in words:
        assert word in line, line


def test_a_port_in_use_stops_at_once_without_restarts(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = papertrade(
            tmp_path, "run", PAPERTRADE_DATABASE_URL=database_url, PAPERTRADE_HTTP_PORT=port
        )
    assert_one_line_error(result, f"127.0.0.1:{port}", "PAPERTRADE_HTTP_PORT")
    assert "actor_restarting" not in result.stderr + result.stdout


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again before the daemon tries it
    url = f"postgresql://papertrade:secret@127.0.0.1:{port}/papertrade"
    result = papertrade(tmp_path, "run", PAPERTRADE_DATABASE_URL=url)
    assert_one_line_error(
        result, "PAPERTRADE_DATABASE_URL", f"127.0.0.1:{port}", code=ServiceUnavailable.exit_code
    )
    assert "secret" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PAPERTRADE_FEES": "KRX=0.1"}, ["PAPERTRADE_FEES", "two rates"]),
        ({"PAPERTRADE_HTTP_PORT": "eighty"}, ["PAPERTRADE_HTTP_PORT", "'eighty'"]),
        ({"PAPERTRADE_JWT_PRIVATE_KEY": "/nowhere/key.pem"}, ["PAPERTRADE_JWT_PRIVATE_KEY"]),
    ],
)
def test_bad_settings_are_one_line(tmp_path: Path, env: dict[str, str], words: list[str]) -> None:
    assert_one_line_error(papertrade(tmp_path, "run", **env), *words)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, ["PAPERTRADE_AMQP_URL"]),
        ({"PAPERTRADE_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"}, ["PAPERTRADE_JWT_PUBLIC_KEY"]),
    ],
)
def test_the_edge_stops_on_a_setting_it_cannot_start_without(
    tmp_path: Path, env: dict[str, str], words: list[str]
) -> None:
    # Exit 78, which its systemd unit does not restart (exit 1 was a restart every 2 s).
    assert_one_line_error(papertrade(tmp_path, "edge", **env), *words)


def test_a_misspelled_variable_is_warned_about_with_the_closest_setting(tmp_path: Path) -> None:
    assert misspelled_variables({"PAPERTRADE_HTTP_PROT": "8001", "PAPERTRADE_SKIP_WEB": "1"}) == [
        "PAPERTRADE_HTTP_PROT is not a papertrade setting and is ignored; "
        "did you mean PAPERTRADE_HTTP_PORT?"
    ]
    result = papertrade(tmp_path, "run", PAPERTRADE_DISCORD_WEBHOK_URL="x", PAPERTRADE_FEES="x")
    assert "did you mean PAPERTRADE_DISCORD_WEBHOOK_URL?" in result.stderr.splitlines()[0]


def test_settings_still_load() -> None:
    assert load_settings({"PAPERTRADE_HTTP_PORT": "8001"}).http_port == 8001
