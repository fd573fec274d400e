"""Schemathesis against /schema/openapi.json of a real daemon: no 5xx, answers match the schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.daemon_process import DaemonProcess

EXAMPLES = os.environ.get("PAPERTRADE_SCHEMATHESIS_EXAMPLES", "40")


@pytest.mark.timeout(600)
def test_the_api_holds_up_against_generated_requests(database_url: str, tmp_path: Path) -> None:
    daemon = DaemonProcess(
        tmp_path / "data",
        database_url,
        PAPERTRADE_LOG_LEVEL="warning",
        PAPERTRADE_SIGNUP_RATE="100000 per minute",  # let it reach past the sign-up limit
    )
    daemon.start()
    try:
        httpx.post(
            f"{daemon.url}/api/auth/signup",
            json={"username": "fuzzer", "password": "password123", "nickname": "Fuzzer"},
        ).raise_for_status()
        token = httpx.post(
            f"{daemon.url}/api/auth/login", json={"username": "fuzzer", "password": "password123"}
        ).json()["access_token"]
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{daemon.url}/schema/openapi.json",
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--max-examples",
                EXAMPLES,
                "--header",
                f"Authorization: Bearer {token}",
                # Logging out would revoke the token every other generated request carries.
                "--exclude-path",
                "/api/auth/logout",
                "--request-timeout",
                "10",
                "--generation-deterministic",
                "--continue-on-failure",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=550,
            check=False,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
        print(result.stdout[-6000:])
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert "passed" in result.stdout
    finally:
        assert daemon.stop() == 0, daemon.log.read_text()[-3000:]
