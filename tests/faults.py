"""Private PostgreSQL and RabbitMQ servers that a fault-injection test may break at will.

The shared services on 127.0.0.1:5432 and :5672 are never touched: each of these runs on free
ports with its data in a temporary folder, as the services' own system users (PostgreSQL and
RabbitMQ refuse to run as root), and is killed when the test ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from tests.daemon_process import free_port


def _run_as(user: str) -> list[str]:
    """Prefix a command so it runs as `user` when we are root (CI and the dev machines are)."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _as_service_user(user: str) -> str:
    """The service's system user if we are root (it must not run as root), else nobody."""
    return user if os.geteuid() == 0 else ""


def _service_dir(prefix: str) -> Path:
    """A fresh folder in /tmp that a service user can reach (pytest's tmp_path is private to
    root, 0700 all the way up). Removed by the server's __exit__."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install postgresql")
    return path


def _version(path: str) -> int:
    part = path.split("/")[4]
    return int(part) if part.isdigit() else 0


class PrivatePostgres:
    """`initdb` + `pg_ctl` in `root`, trust auth on 127.0.0.1:`port`; stop, start, read-only."""

    def __init__(self, root: Path | None = None) -> None:
        """`root`: a folder to keep everything in (on a small filesystem, to fill its disk)."""
        self.root = root or _service_dir("pt-pg-")
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user = _as_service_user("postgres")
        self._prefix = _run_as("postgres")

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self._user:
            shutil.chown(path, self._user, self._user)

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self._prefix, _pg_bin("pg_ctl"), "-D", str(self.data),
             "-l", str(self.root / "postgres.log"), "-w", "-t", "60", *args],
            check=True, capture_output=True,
        )  # fmt: skip

    def init(self) -> None:
        self._own(self.root)
        self._own(self.data)
        subprocess.run(
            [*self._prefix, _pg_bin("initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                "max_connections = 200\n"
            )

    def start(self) -> None:
        self._pg_ctl("start")

    def running(self) -> bool:
        status = subprocess.run(
            [*self._prefix, _pg_bin("pg_ctl"), "-D", str(self.data), "status"], capture_output=True
        )
        return status.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects everyone and shuts down; `immediate` is a crash."""
        self._pg_ctl("stop", "-m", mode)

    async def create_database(self, name: str | None = None) -> str:
        """A new database on this server; its URL."""
        name = name or f"pt_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url.rsplit("/", 1)[0] + "/" + name

    async def set_read_only(self, read_only: bool) -> None:
        """Every new transaction of every session read-only (as on a standby), or writable again.
        Applied by a configuration reload, so sessions that are open keep their connections."""
        conn = await asyncpg.connect(self.url)
        try:
            value = "on" if read_only else "off"
            await conn.execute(f"ALTER SYSTEM SET default_transaction_read_only = {value}")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def __enter__(self) -> PrivatePostgres:
        self.init()
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def small_disk(megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted on a fresh folder (needs root), for a disk to fill."""
    mount_point = _service_dir("pt-disk-")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}M,mode=0777", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        raise PermissionError(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def fill_disk(folder: Path) -> Path:
    """A file taking every free byte of `folder`'s filesystem; delete it to free them."""
    ballast = folder / "ballast"
    with ballast.open("wb", buffering=0) as file:
        for chunk in (1 << 20, 4096):  # to the last page
            with contextlib.suppress(OSError):  # ENOSPC: full at this chunk size
                while True:
                    file.write(bytes(chunk))
    return ballast


class PrivateRabbit:
    """A RabbitMQ node of its own (own node name, ports and data), in the foreground as a child
    process so that a test can stop it, kill -9 it and start it again on the same ports."""

    def __init__(self, consumer_timeout_ms: int | None = None) -> None:
        """`consumer_timeout_ms`: close a channel whose delivery stays unacknowledged this long
        (checked every second instead of every minute); RabbitMQ's default otherwise."""
        self.consumer_timeout_ms = consumer_timeout_ms
        self.root = _service_dir("pt-rabbit-")
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"pt-{uuid.uuid4().hex[:8]}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = _as_service_user("rabbitmq")

    def _env(self) -> dict[str, str]:
        empty = self.root / "empty.conf"
        return {
            **os.environ,
            "HOME": "/var/lib/rabbitmq" if self._user else os.environ.get("HOME", "/tmp"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(empty),
            "RABBITMQ_SERVER_START_ARGS": f"-kernel inet_dist_listen_min {self.dist_port} "
            f"inet_dist_listen_max {self.dist_port}",
        }

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "empty.conf").write_text("")
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            "disk_free_limit.absolute = 1MB\n"
        )
        timeout = self.consumer_timeout_ms
        (self.root / "advanced.config").write_text(
            "[].\n"
            if timeout is None
            else f"[{{rabbit, [{{consumer_timeout, {timeout}}}, {{channel_tick_interval, 1000}}]}}].\n"
        )
        if self._user:
            subprocess.run(["chown", "-R", f"{self._user}:{self._user}", str(self.root)],
                           check=True)  # fmt: skip

    def start(self, timeout: float = 60) -> None:
        log = (self.root / "server.out").open("ab")
        self._proc = subprocess.Popen(
            [*_run_as("rabbitmq"), "env", *(f"{k}={v}" for k, v in self._env().items() if k.startswith(("RABBITMQ_", "HOME"))),
             "/usr/lib/rabbitmq/bin/rabbitmq-server"],
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"rabbitmq node {self.node} exited: "
                    + (self.root / "server.out").read_text()[-2000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"AMQP\x00\x00\x09\x01")
                    greeted = bool(sock.recv(1))  # connection.start: it accepts clients
            except OSError:
                greeted = False
            if greeted:
                # Accepting clients is not booted: until the quorum-queue subsystem is up, a
                # quorum declaration gets INTERNAL_ERROR. await_startup waits for the whole boot.
                left = max(1.0, deadline - time.monotonic())
                subprocess.run(
                    [*_run_as("rabbitmq"), "env", *(f"{k}={v}" for k, v in self._env().items()
                     if k.startswith(("RABBITMQ_", "HOME"))),
                     "/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, "await_startup",
                     "--timeout", str(int(left))],
                    check=True, capture_output=True, timeout=left + 5,
                )  # fmt: skip
                return
            time.sleep(0.2)
        raise RuntimeError(f"rabbitmq node {self.node} did not start within {timeout}s")

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (a clean broker stop) or SIGKILL (a crash) of the whole node."""
        import signal

        if self._proc is None or self._proc.poll() is not None:
            return
        os.killpg(self._proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None
        # epmd keeps the node's name registered a moment; a restart under it must wait for that.
        time.sleep(0.5)

    def __enter__(self) -> PrivateRabbit:
        self.init()
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop(kill=True)
        shutil.rmtree(self.root, ignore_errors=True)
