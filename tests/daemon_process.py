"""Start `papertrade run` as a real separate process (for kill -9 and black-box tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaemonProcess:
    def __init__(self, data_dir: Path, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "PAPERTRADE_DATABASE_URL": database_url,
            "PAPERTRADE_DATA_DIR": str(data_dir),
            "PAPERTRADE_HTTP_PORT": str(self.port),
            "PAPERTRADE_LOG_FORMAT": "json",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "daemon.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daemon", "run"], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"daemon exited {self.proc.returncode}: {self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"daemon did not serve within {timeout}s: {self.log.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup, as if the machine lost power."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30, signum: signal.Signals = signal.SIGTERM) -> int:
        """SIGTERM (or `signum`) and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise
