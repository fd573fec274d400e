"""`./run-tests` in a temporary copy with fake `npm`/`node` and a fake .venv: its web part builds
the app once, keeps the marker `./papertrade` trusts (the next start builds nothing), and sends
the screenshots to a temporary folder; `npm run screenshots` is what writes docs/screenshots/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SHOT = "docs/screenshots/login-desktop.png"


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for name in ("run-tests", "papertrade", "pyproject.toml", SHOT, "web/e2e/run.sh"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CHECKOUT / name, root / name)
    for name in ("package.json", "package-lock.json", "index.html"):
        shutil.copy2(CHECKOUT / "web" / name, root / "web" / name)
    shutil.copytree(CHECKOUT / "web" / "src", root / "web" / "src")
    (root / "daemon").mkdir()
    for name in ("__init__.py", "node_engines.py"):
        shutil.copy(CHECKOUT / "daemon" / name, root / "daemon" / name)
    venv = root / ".venv" / "bin"
    venv.mkdir(parents=True)
    os.symlink(sys.executable, venv / "python")
    for name in ("pip", "ruff", "pytest"):
        executable(venv / name, "#!/bin/sh\nexit 0\n")
    executable(venv / "papertrade", '#!/bin/sh\necho "daemon ran: $*"\n')
    (root / ".venv" / ".installed").touch()

    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    # npm as the web app's scripts are: `run build` is vite's, which empties dist/ first.
    executable(
        fake / "npm",
        f'#!/bin/sh\necho "npm $*" >> "{calls}"\n'
        'case "$1 $2" in\n'
        '  "run build"|"run build --silent") rm -rf dist && mkdir dist && echo app > dist/index.html ;;\n'
        '  "run e2e"|"run e2e --silent") exec bash e2e/run.sh ;;\n'
        '  "run screenshots"|"run screenshots --silent") exec bash e2e/run.sh --screenshots ;;\n'
        "esac\n",
    )
    # node: a supported version, and the e2e run takes a screenshot where it is told to.
    executable(
        fake / "node",
        '#!/bin/sh\n[ "$1" = --version ] && { echo v20.19.2; exit 0; }\n'
        f'echo "node $* shots=$E2E_SCREENSHOTS" >> "{calls}"\n'
        'mkdir -p "$E2E_SCREENSHOTS" && echo new > "$E2E_SCREENSHOTS/login-desktop.png"\n',
    )
    return root


def run(root: Path, *command: str, where: str = ".") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command],
        cwd=root / where,
        env={
            "PATH": f"{root.parent / 'bin'}:/usr/bin:/bin",
            "HOME": str(root.parent),
            "E2E_BASE_URL": "http://127.0.0.1:9",  # the fake node talks to no daemon
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def calls(root: Path) -> list[str]:
    path = root.parent / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_run_tests_builds_once_keeps_the_marker_and_leaves_the_screenshots_alone(
    checkout: Path,
) -> None:
    committed = (checkout / SHOT).read_bytes()
    tests = run(checkout, "./run-tests")
    assert tests.returncode == 0, tests.stderr
    assert [c for c in calls(checkout) if c.startswith("npm run build")] == ["npm run build"]
    [node] = [c for c in calls(checkout) if c.startswith("node")]
    shots = Path(node.split("shots=")[1])
    assert not shots.is_relative_to(checkout)
    assert (shots / "login-desktop.png").read_text() == "new\n"
    shutil.rmtree(shots)
    assert (checkout / SHOT).read_bytes() == committed
    assert (checkout / "web" / "dist" / ".built").exists()

    before = len(calls(checkout))
    started = run(checkout, "./papertrade", "run")
    assert started.returncode == 0, started.stderr
    assert "daemon ran: run" in started.stdout
    assert "building the web app" not in started.stderr
    assert calls(checkout)[before:] == []  # the build run-tests made is current


def test_npm_run_screenshots_refreshes_docs_screenshots(checkout: Path) -> None:
    refreshed = run(
        checkout, str(checkout.parent / "bin" / "npm"), "run", "screenshots", where="web"
    )
    assert refreshed.returncode == 0, refreshed.stderr
    assert (checkout / SHOT).read_text() == "new\n"
