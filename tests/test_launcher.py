"""`./papertrade` in a temporary copy with fake `node`/`npm` on PATH and a fake daemon: it checks
Node.js against Vite's minimum first, and starts the daemon without the web app when it cannot
build it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.node_engines import main, satisfies

CHECKOUT = Path(__file__).resolve().parents[1]


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The launcher and what it looks at; .venv holds a fake `papertrade` that says it ran."""
    root = tmp_path / "checkout"
    (root / "web" / "src").mkdir(parents=True)
    shutil.copy(CHECKOUT / "papertrade", root / "papertrade")
    shutil.copy(CHECKOUT / "pyproject.toml", root / "pyproject.toml")
    for name in ("package.json", "package-lock.json", "index.html"):
        shutil.copy(CHECKOUT / "web" / name, root / "web" / name)
    (root / "daemon").mkdir()
    for name in ("__init__.py", "node_engines.py"):
        shutil.copy(CHECKOUT / "daemon" / name, root / "daemon" / name)
    (root / ".venv" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, root / ".venv" / "bin" / "python")
    executable(root / ".venv" / "bin" / "papertrade", '#!/bin/sh\necho "daemon ran: $*"\n')
    (root / ".venv" / ".installed").touch()
    return root


def run_launcher(root: Path, node_version: str, build_exit: int = 0) -> subprocess.CompletedProcess:
    fake_bin = root.parent / "bin"
    fake_bin.mkdir(exist_ok=True)
    executable(fake_bin / "node", f"#!/bin/sh\necho {node_version}\n")
    executable(
        fake_bin / "npm",
        f'#!/bin/sh\necho "npm $*" >> "{root.parent}/npm-calls"\n'
        f'[ "$1" = run ] && {{ echo "vite: something broke" >&2; exit {build_exit}; }}\n'
        f'[ "$1" = run ] || exit 0\n',
    )
    path = f"{fake_bin}:/usr/bin:/bin"
    return subprocess.run(
        [str(root / "papertrade"), "run"],
        env={"PATH": path, "HOME": str(root.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def npm_calls(root: Path) -> list[str]:
    calls = root.parent / "npm-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_an_old_node_is_named_and_the_daemon_starts_without_the_web_app(checkout: Path) -> None:
    result = run_launcher(checkout, "v18.19.0")
    assert result.returncode == 0, result.stderr
    assert "daemon ran: run" in result.stdout
    assert "needs Node.js ^20.19.0 || >=22.12.0" in result.stderr
    assert "this is Node.js v18.19.0" in result.stderr
    assert npm_calls(checkout) == []  # checked first: no build attempted


def test_a_failed_build_still_starts_the_daemon(checkout: Path) -> None:
    result = run_launcher(checkout, "v22.12.0", build_exit=1)
    assert result.returncode == 0, result.stderr
    assert "daemon ran: run" in result.stdout
    assert "vite: something broke" in result.stderr
    assert "serving without it" in result.stderr
    assert not (checkout / "web" / "dist" / ".built").exists()


def test_a_supported_node_builds_the_web_app(checkout: Path) -> None:
    (checkout / "web" / "dist").mkdir()
    result = run_launcher(checkout, "v20.19.2")
    assert result.returncode == 0, result.stderr
    assert [call.split()[1] for call in npm_calls(checkout)] == ["ci", "run"]
    assert (checkout / "web" / "dist" / ".built").exists()


@pytest.mark.parametrize(
    ("node", "ok"),
    [("v18.19.0", False), ("v20.18.9", False), ("v20.19.0", True), ("v21.7.0", False),
     ("v22.11.0", False), ("v22.12.0", True), ("v24.1.0", True), ("", False)],
)  # fmt: skip
def test_node_versions_against_vites_range(node: str, ok: bool) -> None:
    assert main([node]) == (0 if ok else 1)
    assert satisfies("1.2.3", "~1.2.0 || =2.0.0")
    assert not satisfies("1.3.0", "~1.2.0")
