"""`.ci/run` in a temporary copy with fake apt, PostgreSQL, Redis and RabbitMQ commands first
on PATH: it installs what is missing (apt-get update once), starts what is down, lets user
postgres in, fails naming a service that never comes up, and changes nothing when all is well."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

# Each fake logs its call to $STATE/calls; services are up while $STATE/<name>_up exists.
FAKES = {
    "dpkg-query": '[ -e "$STATE/installed" ] && echo "install ok installed"; exit 0',
    "apt-get": 'log "$@"; [ "$1" = install ] && touch "$STATE/installed"; exit 0',
    "node": "echo v20.19.2",
    "npm": "exit 0",
    "pg_lsclusters": 'cat "$STATE/clusters"',
    "pg_createcluster": 'log "$@"',
    "pg_isready": '[ -e "$STATE/pg_up" ]',
    # pg_ctlcluster --skip-systemctl-redirect VERSION NAME ACTION
    "pg_ctlcluster": 'log "$@"; [ "$4" = start ] && touch "$STATE/pg_up"; '
    '[ "$4" = reload ] && grep -q "host all postgres 127.0.0.1/32 trust" '
    '"$STATE/etc/$2/$3/pg_hba.conf" && touch "$STATE/pg_trust"; exit 0',
    "psql": '[ -e "$STATE/pg_trust" ]',
    "redis-cli": '[ -e "$STATE/redis_up" ]',
    "redis-server": 'log "$@"; [ -e "$STATE/redis_broken" ] || touch "$STATE/redis_up"',
    "rabbitmqctl": '[ -e "$STATE/rabbit_up" ]',
    "rabbitmq-server": 'log "$@"; touch "$STATE/rabbit_up"',
    "mkdir": "exit 0",
    "sleep": "exit 0",
}


@pytest.fixture
def ci(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    shutil.copy(CHECKOUT / ".ci" / "run", root / ".ci" / "run")
    (root / "daemon").mkdir()
    for name in ("__init__.py", "node_engines.py"):
        shutil.copy(CHECKOUT / "daemon" / name, root / "daemon" / name)
    (root / "web").mkdir()
    shutil.copy(CHECKOUT / "web" / "package-lock.json", root / "web" / "package-lock.json")
    run_tests = root / "run-tests"
    run_tests.write_text('#!/bin/sh\necho run-tests >> "$STATE/calls"\n')
    run_tests.chmod(0o755)
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, body in FAKES.items():
        script = fake / name
        script.write_text(f'#!/bin/sh\nlog() {{ echo "{name} $*" >> "$STATE/calls"; }}\n{body}\n')
        script.chmod(0o755)
    state = tmp_path / "state"
    for version in ("15", "16"):
        (state / "etc" / version / "main").mkdir(parents=True)
        (state / "etc" / version / "main" / "pg_hba.conf").write_text("local all all peer\n")
    return tmp_path


def run_ci(ci: Path, clusters: str, *up: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    state = ci / "state"
    (state / "clusters").write_text(clusters)
    for name in up:
        (state / name).touch()
    result = subprocess.run(
        [str(ci / "checkout" / ".ci" / "run")],
        env={
            "PATH": f"{ci / 'bin'}:/usr/bin:/bin",
            "STATE": str(state),
            "CI_PG_ETC": str(state / "etc"),
            "CI_SERVICE_WAIT_SECONDS": "3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = state / "calls"
    return result, calls.read_text().splitlines() if calls.exists() else []


TWO_VERSIONS = (
    "15 main 5433 down postgres /var/lib/postgresql/15/main log\n"
    "16 main 5432 down postgres /var/lib/postgresql/16/main log\n"
)


def test_a_fresh_machine_gets_everything_installed_started_and_trusted(ci: Path) -> None:
    result, calls = run_ci(ci, TWO_VERSIONS)
    assert result.returncode == 0, result.stderr
    apt = [call for call in calls if call.startswith("apt-get")]
    assert apt[0] == "apt-get update -qq"
    assert len(apt) == 2
    for package in ("redis-server", "rabbitmq-server", "python3-venv", "fonts-noto-cjk"):
        assert package in apt[1].split()
    assert "pg_ctlcluster --skip-systemctl-redirect 16 main start" in calls
    assert "pg_ctlcluster --skip-systemctl-redirect 16 main reload" in calls
    hba = (ci / "state" / "etc" / "16" / "main" / "pg_hba.conf").read_text()
    assert hba.startswith("host all postgres 127.0.0.1/32 trust\n")
    assert any(call.startswith("redis-server") for call in calls)
    assert any(call.startswith("rabbitmq-server") for call in calls)
    assert calls[-1] == "run-tests"


def test_on_a_ready_machine_it_changes_nothing(ci: Path) -> None:
    result, calls = run_ci(
        ci, TWO_VERSIONS, "installed", "pg_up", "pg_trust", "redis_up", "rabbit_up"
    )
    assert result.returncode == 0, result.stderr
    assert calls == ["run-tests"]
    hba = (ci / "state" / "etc" / "16" / "main" / "pg_hba.conf").read_text()
    assert hba == "local all all peer\n"


def test_a_service_that_never_comes_up_stops_the_run_by_name(ci: Path) -> None:
    result, calls = run_ci(ci, TWO_VERSIONS, "installed", "pg_up", "pg_trust", "redis_broken")
    assert result.returncode == 1
    assert "Redis on 127.0.0.1:6379 did not come up" in result.stderr
    assert "run-tests" not in calls
