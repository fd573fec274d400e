"""`papertrade user add` says a username is taken before it asks for a password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def user_add(
    database_url: str, tmp_path: Path, *args: str, stdin: str | None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERTRADE_")}
    return subprocess.run(
        [sys.executable, "-m", "daemon", "user", "add", *args],
        env={**env, "PAPERTRADE_DATABASE_URL": database_url, "PAPERTRADE_DATA_DIR": str(tmp_path)},
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: a password prompt would read stdin
    )


def test_a_taken_username_is_refused_before_the_password_prompt(
    database_url: str, tmp_path: Path
) -> None:
    created = user_add(database_url, tmp_path, "alice", "--password-stdin", stdin="password123\n")
    assert created.returncode == 0, created.stderr
    again = user_add(database_url, tmp_path, "alice", stdin=None)
    assert again.returncode != 0
    assert "username 'alice' is taken" in again.stderr
    assert "password" not in again.stderr.replace("username 'alice' is taken", "")
    bad = user_add(database_url, tmp_path, "No Spaces", stdin=None)
    assert "username must be 3 to 32 characters" in bad.stderr
    nickname = user_add(database_url, tmp_path, "bob", "--nickname", "ALICE", stdin=None)
    assert "nickname 'ALICE' is taken" in nickname.stderr
    assert "password" not in nickname.stderr.replace("choose another", "")
    assert "Traceback" not in bad.stderr + again.stderr + nickname.stderr
