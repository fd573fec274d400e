"""The processes of one scenario: private PostgreSQL and RabbitMQ, the daemon, the edge."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from bench.common import bulk_users
from daemon.clock import LiveClock
from daemon.database import create_pool
from daemon.migrate import migrate
from daemon.tokens import PUBLIC_KEY_FILE, TokenMinter, load_or_create_private_key
from tests.daemon_process import DaemonProcess, free_port
from tests.faults import PrivatePostgres, PrivateRabbit

QUEUE = "orders.intake"


class Edge:
    """`papertrade edge` as its own process, on a port it keeps across restarts."""

    def __init__(self, data_dir: Path, amqp_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "edge.log"
        self.env = {
            **os.environ,
            "PAPERTRADE_AMQP_URL": amqp_url,
            "PAPERTRADE_AMQP_QUEUE": QUEUE,
            "PAPERTRADE_JWT_PUBLIC_KEY": str(data_dir / PUBLIC_KEY_FILE),
            "PAPERTRADE_DATA_DIR": str(data_dir / "edge"),
            "PAPERTRADE_HTTP_PORT": str(self.port),
            "PAPERTRADE_LOG_FORMAT": "json",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "daemon", "edge"], env=self.env,
                                         stdout=log, stderr=log)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"edge not ready within {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


class Rig:
    """Everything one scenario runs on, torn down at the end. `edge_mode`: orders go to the
    edge and through RabbitMQ; otherwise straight to the daemon's API (single host)."""

    def __init__(
        self, name: str, edge_mode: bool, keep_logs: Path | None = None, users: int = 20
    ) -> None:
        self.name = name
        self.keep_logs = keep_logs
        self.edge_mode = edge_mode
        self.root = Path(tempfile.mkdtemp(prefix="pt-chaos-"))
        self.postgres = PrivatePostgres()
        self.rabbit = PrivateRabbit() if edge_mode else None
        self._users = users
        self.database_url = ""
        self.tokens: list[str] = []
        self.user_ids: list[uuid.UUID] = []
        self.daemon: DaemonProcess
        self.edge: Edge | None = None

    async def __aenter__(self) -> Rig:
        self.postgres.__enter__()
        if self.rabbit is not None:
            self.rabbit.__enter__()
        self.database_url = await self.postgres.create_database()
        pool = await create_pool(self.database_url, min_size=1, max_size=1)
        async with pool.acquire() as conn:
            await migrate(conn)
        await pool.close()
        key = load_or_create_private_key(self.root, None)
        minter = TokenMinter(key, LiveClock(), timedelta(hours=2))
        self.user_ids = await bulk_users(self.database_url, self._users)
        self.tokens = [minter.mint(user, "USER") for user in self.user_ids]
        env = {"PAPERTRADE_FEEDS": "sim", "PAPERTRADE_LOG_LEVEL": "info"}
        if self.rabbit is not None:
            env |= {"PAPERTRADE_AMQP_URL": self.rabbit.url, "PAPERTRADE_AMQP_QUEUE": QUEUE}
            self.edge = Edge(self.root, self.rabbit.url)
        self.daemon = DaemonProcess(self.root, self.database_url, **env)
        return self

    @property
    def target(self) -> str:
        """Where clients send their orders."""
        return self.edge.url if self.edge is not None else self.daemon.url

    async def __aexit__(self, *_: object) -> None:
        for stop in (self.edge.stop if self.edge else None, self.daemon.stop):
            if stop is not None:
                with contextlib.suppress(Exception):
                    stop()
        if self.rabbit is not None:
            self.rabbit.__exit__()
        self.postgres.__exit__()
        if self.keep_logs is not None:
            self.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in (self.daemon.log, self.edge.log if self.edge else None):
                if log is not None and log.exists():
                    shutil.copy(log, self.keep_logs / f"{self.name}-{log.name}")
        shutil.rmtree(self.root, ignore_errors=True)
